import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DecryptionError,
  FieldCipher,
  Keyring,
  keyIdOf,
  type RotationProgress,
  type RotationRow,
  type RotationUpdate,
  rotate,
} from '../src/index.ts';

const TABLE = 'oauth_tokens';
const COLUMNS = ['access_token', 'refresh_token'] as const;

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const before = new FieldCipher(new Keyring({ keys: [{ id: 'k1', key: k1 }], activeKeyId: 'k1' }));
const after = new FieldCipher(
  new Keyring({
    keys: [
      { id: 'k1', key: k1 },
      { id: 'k2', key: k2 },
    ],
    activeKeyId: 'k2',
  }),
);

type Store = Map<string, Record<string, string | null>>;

/** Ten rows r01..r10 under k1; r04 has no refresh token; r07 has neither value. */
function seed(): { store: Store; plain: Map<string, Record<string, string | null>> } {
  const store: Store = new Map();
  const plain = new Map<string, Record<string, string | null>>();
  for (let i = 1; i <= 10; i++) {
    const id = `r${String(i).padStart(2, '0')}`;
    const values: Record<string, string | null> = {
      access_token: i === 7 ? null : `access-${i}`,
      refresh_token: i === 4 || i === 7 ? null : `refresh-${i}-é`,
    };
    plain.set(id, values);
    const enc: Record<string, string | null> = {};
    for (const column of COLUMNS) {
      const v = values[column] ?? null;
      enc[column] = v === null ? null : before.encrypt(v, { table: TABLE, column, rowId: id });
    }
    store.set(id, enc);
  }
  return { store, plain };
}

function fetcher(store: Store) {
  return (after: string | null, limit: number): RotationRow[] =>
    [...store.keys()]
      .sort()
      .filter((id) => after === null || id > after)
      .slice(0, limit)
      .map((id) => ({ id, values: { ...store.get(id)! } }));
}

/** Compare-and-set write, as a real `UPDATE ... WHERE col = previous` would do. */
function casWrite(store: Store, update: RotationUpdate): boolean {
  const row = store.get(update.id)!;
  for (const [column, previous] of Object.entries(update.previous)) {
    if (row[column] !== previous) return false;
  }
  Object.assign(row, update.values);
  return true;
}

function expectAllReadableUnder(store: Store, plain: Map<string, Record<string, string | null>>) {
  for (const [id, row] of store) {
    for (const column of COLUMNS) {
      const value = row[column] ?? null;
      expect(
        value === null ? null : after.decrypt(value, { table: TABLE, column, rowId: id }),
      ).toBe(plain.get(id)![column] ?? null);
      if (value !== null) expect(keyIdOf(value)).toBe('k2');
    }
  }
}

describe('rotate', () => {
  it('old values stay readable under the new keyring before rotation', () => {
    const { store, plain } = seed();
    for (const [id, row] of store) {
      const v = row.access_token;
      if (v)
        expect(after.decrypt(v, { table: TABLE, column: 'access_token', rowId: id })).toBe(
          plain.get(id)!.access_token,
        );
    }
  });

  it('re-encrypts k1 values under k2 in batches, and counts what it did', async () => {
    const { store, plain } = seed();
    const saved: number[] = [];
    const result = await rotate({
      cipher: after,
      table: TABLE,
      columns: COLUMNS,
      batchSize: 4,
      fetchBatch: fetcher(store),
      save: (updates) => {
        saved.push(updates.length);
        return updates.filter((u) => casWrite(store, u)).length;
      },
    });
    expect(result).toEqual({
      scanned: 10,
      rotated: 9,
      skipped: 1, // r07 has no values
      values: 17, // 9 access tokens + 8 refresh tokens
      failed: 0,
      conflicts: 0,
      batches: 3,
      cursor: 'r10',
      done: true,
    });
    expect(saved).toEqual([4, 3, 2]);
    expectAllReadableUnder(store, plain);

    // Idempotent: a second run finds nothing to do.
    const again = await rotate({
      cipher: after,
      table: TABLE,
      columns: COLUMNS,
      batchSize: 4,
      fetchBatch: fetcher(store),
      save: () => {
        throw new Error('nothing should be saved');
      },
    });
    expect(again).toMatchObject({ scanned: 10, rotated: 0, skipped: 10, values: 0, batches: 3 });
  });

  it('resumes after a crash in the middle of a batch', async () => {
    const { store, plain } = seed();
    const checkpoints: RotationProgress[] = [];
    let calls = 0;
    const crashing = rotate({
      cipher: after,
      table: TABLE,
      columns: COLUMNS,
      batchSize: 3,
      fetchBatch: fetcher(store),
      save: (updates) => {
        calls++;
        if (calls === 2) {
          // The process dies after writing the first row of the second batch (r04).
          casWrite(store, updates[0]!);
          throw new Error('simulated crash');
        }
        for (const u of updates) casWrite(store, u);
        return undefined;
      },
      onBatch: (p) => {
        checkpoints.push(p);
      },
    });
    await expect(crashing).rejects.toThrow('simulated crash');
    expect(checkpoints).toEqual([
      {
        scanned: 3,
        rotated: 3,
        skipped: 0,
        values: 6,
        failed: 0,
        conflicts: 0,
        batches: 1,
        cursor: 'r03',
      },
    ]);
    // The store is mixed now: r01-r04 under k2, r05-r10 under k1; all of it readable.
    expect(keyIdOf(store.get('r04')!.access_token!)).toBe('k2');
    expect(keyIdOf(store.get('r05')!.access_token!)).toBe('k1');

    const resumed = await rotate({
      cipher: after,
      table: TABLE,
      columns: COLUMNS,
      batchSize: 3,
      startAfter: checkpoints.at(-1)!.cursor,
      fetchBatch: fetcher(store),
      save: (updates) => updates.filter((u) => casWrite(store, u)).length,
    });
    expect(resumed).toEqual({
      scanned: 7, // r04..r10
      rotated: 5, // r05, r06, r08, r09, r10
      skipped: 2, // r04 (already written before the crash) and r07 (no values)
      values: 10,
      failed: 0,
      conflicts: 0,
      batches: 3,
      cursor: 'r10',
      done: true,
    });
    expectAllReadableUnder(store, plain);
  });

  it('does not overwrite a value the application changed meanwhile (compare-and-set)', async () => {
    const { store } = seed();
    const result = await rotate({
      cipher: after,
      table: TABLE,
      columns: ['access_token'],
      batchSize: 10,
      fetchBatch: fetcher(store),
      save: (updates) => {
        // A user refreshes r02's token between fetch and save.
        store.get('r02')!.access_token = after.encrypt('fresh', {
          table: TABLE,
          column: 'access_token',
          rowId: 'r02',
        });
        return updates.filter((u) => casWrite(store, u)).length;
      },
    });
    expect(result).toMatchObject({ scanned: 10, rotated: 8, conflicts: 1, skipped: 1 });
    expect(
      after.decrypt(store.get('r02')!.access_token!, {
        table: TABLE,
        column: 'access_token',
        rowId: 'r02',
      }),
    ).toBe('fresh');
  });

  it('throws on an undecryptable value, or counts it with skipUndecryptable', async () => {
    const { store } = seed();
    // A ciphertext copied from another row does not decrypt for this one.
    store.get('r03')!.access_token = store.get('r02')!.access_token!;
    const options = {
      cipher: after,
      table: TABLE,
      columns: COLUMNS,
      fetchBatch: fetcher(store),
      save: (updates: RotationUpdate[]) => updates.filter((u) => casWrite(store, u)).length,
    };
    await expect(rotate(options)).rejects.toBeInstanceOf(DecryptionError);
    const result = await rotate({ ...options, skipUndecryptable: true });
    expect(result).toMatchObject({ scanned: 10, failed: 1, rotated: 8, skipped: 1 });
    expect(keyIdOf(store.get('r03')!.access_token!)).toBe('k1');
  });

  it('stops between batches when aborted, and reports where to resume', async () => {
    const { store } = seed();
    const controller = new AbortController();
    const result = await rotate({
      cipher: after,
      table: TABLE,
      columns: COLUMNS,
      batchSize: 2,
      fetchBatch: fetcher(store),
      save: (updates) => updates.filter((u) => casWrite(store, u)).length,
      onBatch: (p) => {
        if (p.batches === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(result).toMatchObject({
      scanned: 4,
      rotated: 4,
      batches: 2,
      cursor: 'r04',
      done: false,
    });
  });

  it('refuses a fetchBatch that ignores the cursor', async () => {
    const { store } = seed();
    await expect(
      rotate({
        cipher: after,
        table: TABLE,
        columns: COLUMNS,
        batchSize: 2,
        fetchBatch: (_after, limit) => fetcher(store)(null, limit),
        save: () => undefined,
      }),
    ).rejects.toThrow(/strictly after the cursor/);
  });
});
