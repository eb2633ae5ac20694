import { describe, expect, it } from 'vitest';
import { ContextStorage } from '../src/engine/context-storage.ts';

describe('ContextStorage', () => {
  it('gives each run its own store, across awaits and concurrent runs', async () => {
    const storage = new ContextStorage<string>();
    expect(storage.getStore()).toBeUndefined();
    const seen: (string | undefined)[] = [];
    const work = (name: string, ms: number) =>
      storage.run(name, async () => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        seen.push(storage.getStore());
        await Promise.resolve();
        return storage.getStore();
      });
    const [a, b] = await Promise.all([work('a', 20), work('b', 5)]);
    expect([a, b]).toEqual(['a', 'b']);
    expect(seen).toEqual(['b', 'a']);
    expect(storage.getStore()).toBeUndefined();
  });

  it('nests, and is off again once no run is in flight', async () => {
    const storage = new ContextStorage<number>();
    const inner = await storage.run(1, () => storage.run(2, () => storage.getStore()));
    expect(inner).toBe(2);
    expect(storage.getStore()).toBeUndefined();
    // A continuation started inside a finished run no longer sees its store.
    let later: number | undefined = -1;
    let resume!: () => void;
    const paused = new Promise<void>((resolve) => {
      resume = resolve;
    });
    await storage.run(3, () => {
      void paused.then(() => {
        later = storage.getStore();
      });
    });
    resume();
    await paused;
    await Promise.resolve();
    expect(later).toBeUndefined();
  });

  it('ends the run when its callback throws', async () => {
    const storage = new ContextStorage<string>();
    await expect(
      storage.run('x', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(storage.getStore()).toBeUndefined();
  });
});
