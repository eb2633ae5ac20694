/**
 * Seed 004 (AgentFlow operations) end to end on both dialects, through `createDb` on a database
 * pushed from `drizzle/` (Postgres: as the application role, row-level security in force): the
 * workflow lock under contention, schedules, the email queue, task logs, reports and insights,
 * health checks and the seed's five sample queries.
 */
import type { Dialect } from '@exora/core';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, type ExoraDb, type PublicUser } from '@exora/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, platform } from './platform.ts';

/** Lock rounds of the contention proof (CI size; `SEED004_LOCK_ROUNDS=1000` for the full proof). */
const LOCK_ROUNDS = Number(process.env.SEED004_LOCK_ROUNDS ?? 200);
const CONTENDERS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Seed004 {
  p: Platform;
  db: ExoraDb;
  /** Another handle on the same database: its own connections (Postgres), its own SQLite handle. */
  handle(poolMax?: number): ExoraDb;
  close(): Promise<void>;
}

async function seed004(dialect: Dialect): Promise<Seed004> {
  const p = await platform(dialect);
  const opened: ExoraDb[] = [];
  const url = (dialect === 'postgres' ? p.appUrl : p.sqliteFile)!;
  return {
    p,
    db: p.db,
    handle(poolMax = 1) {
      const db = createDb({
        url,
        crypto: createTestCrypto(),
        env: { DATABASE_POOL_MAX: String(poolMax) },
      });
      opened.push(db);
      return db;
    },
    async close() {
      await Promise.all(opened.map((d) => d.close()));
      await p.dispose();
    },
  };
}

export function seed004LockSuite(dialect: Dialect) {
  describe(`seed 004: the workflow lock (${dialect})`, () => {
    let s: Seed004;
    let db: ExoraDb;
    let ada: PublicUser;
    let bob: PublicUser;

    beforeAll(async () => {
      s = await seed004(dialect);
      db = s.db;
      const signup = db.asService('signup');
      ada = await signup.users.create({ email: `s004-lock-ada-${Date.now()}@example.test` });
      bob = await signup.users.create({ email: `s004-lock-bob-${Date.now()}@example.test` });
    });
    afterAll(async () => {
      await s?.close();
    });

    it('creates runs a user owns; others and users of other tables see nothing', async () => {
      const me = db.forUser(ada.id);
      const run = await me.workflowRuns.create({
        steps: [{ name: 'fetch' }, { name: 'send' }],
        context: { dealer: 'x' },
      });
      expect(run).toMatchObject({
        userId: ada.id,
        currentStep: 0,
        status: 'pending',
        locked: false,
        lockToken: 0,
        steps: [{ name: 'fetch' }, { name: 'send' }],
        context: { dealer: 'x' },
      });
      expect((await me.workflowRuns.get(run.id)).id).toBe(run.id);
      await expect(db.forUser(bob.id).workflowRuns.get(run.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      // Locking is a worker's (service's) call.
      await expect(me.workflowRuns.acquire(run.id, 'w', 1000)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      await expect(me.workflowRuns.create({ steps: 'x' as never })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it('acquire, renew, advance, release and finish: only the holder with its token', async () => {
      const worker = db.asService('worker');
      const run = await db.forUser(ada.id).workflowRuns.create({ steps: [{}, {}, {}] });
      const lock = (await worker.workflowRuns.acquire(run.id, 'w1', 5_000))!;
      expect(lock).toMatchObject({ runId: run.id, holder: 'w1', token: 1 });
      expect(lock.expiresAt.getTime()).toBeGreaterThan(Date.now());
      // Held: nobody else gets it.
      expect(await worker.workflowRuns.acquire(run.id, 'w2', 5_000)).toBeNull();
      const renewed = await worker.workflowRuns.renew(lock, 10_000);
      expect(renewed.expiresAt.getTime()).toBeGreaterThan(lock.expiresAt.getTime());
      const advanced = await worker.workflowRuns.advance(lock, { fetched: 3 });
      expect(advanced).toMatchObject({ currentStep: 1, status: 'running', locked: true });
      expect(advanced.context).toEqual({ fetched: 3 });
      expect((await worker.workflowRuns.advance(lock, { sent: true })).context).toEqual({
        fetched: 3,
        sent: true,
      });
      // A stranger, or a forged token, is refused and changes nothing.
      for (const forged of [
        { ...lock, holder: 'w2' },
        { ...lock, token: lock.token + 1 },
      ]) {
        await expect(worker.workflowRuns.advance(forged)).rejects.toMatchObject({
          code: 'PRECONDITION_FAILED',
          name: 'LockLostError',
        });
        await expect(worker.workflowRuns.release(forged)).rejects.toMatchObject({
          code: 'PRECONDITION_FAILED',
        });
        await expect(worker.workflowRuns.renew(forged, 1000)).rejects.toMatchObject({
          code: 'PRECONDITION_FAILED',
        });
      }
      expect((await worker.workflowRuns.get(run.id, ada.id)).currentStep).toBe(2);
      await worker.workflowRuns.release(lock);
      await expect(worker.workflowRuns.release(lock)).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
      });
      await expect(worker.workflowRuns.advance(lock)).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
      });
      const again = (await worker.workflowRuns.acquire(run.id, 'w2', 5_000))!;
      expect(again.token).toBe(2);
      const done = await worker.workflowRuns.finish(again, { status: 'failed', error: 'boom' });
      expect(done).toMatchObject({ status: 'failed', lastError: 'boom', locked: false });
      // An ended run is not taken again.
      expect(await worker.workflowRuns.acquire(run.id, 'w3', 5_000)).toBeNull();
      await expect(worker.workflowRuns.acquire(run.id, 'w3', 0)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it("takes over a crashed holder's lease once it has expired; the old holder is fenced off", async () => {
      const a = s.handle().asService('worker a');
      const b = s.handle().asService('worker b');
      const run = await db.forUser(ada.id).workflowRuns.create({ steps: [{}, {}] });
      const crashed = (await a.workflowRuns.acquire(run.id, 'a', 150))!;
      expect(await b.workflowRuns.acquire(run.id, 'b', 5_000)).toBeNull();
      await sleep(250);
      // The lease has ended: a write by the old holder is refused even before a takeover.
      await expect(a.workflowRuns.advance(crashed)).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
      });
      const taken = (await b.workflowRuns.acquire(run.id, 'b', 5_000))!;
      expect(taken.token).toBe(crashed.token + 1);
      // The old holder comes back: its release and advance are refused, the new lock stands.
      await expect(a.workflowRuns.release(crashed)).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
      });
      await expect(a.workflowRuns.advance(crashed, { stale: true })).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
      });
      // Even a holder reusing the same name cannot write with the old token.
      await expect(a.workflowRuns.advance({ ...crashed, holder: 'b' })).rejects.toMatchObject({
        code: 'PRECONDITION_FAILED',
      });
      const after = await b.workflowRuns.advance(taken, { fresh: true });
      expect(after).toMatchObject({ currentStep: 1, lockedBy: 'b', context: { fresh: true } });
      await b.workflowRuns.release(taken);
    });

    it(`${CONTENDERS} contenders on separate handles over ${LOCK_ROUNDS} rounds: never two holders`, async () => {
      const run = await db.forUser(ada.id).workflowRuns.create({ steps: [] });
      const workers = Array.from({ length: CONTENDERS }, (_, i) =>
        s.handle().asService(`contender ${i}`),
      );
      let holding = 0;
      let maxHolding = 0;
      const wins = new Array<number>(CONTENDERS).fill(0);
      const started = performance.now();
      for (let round = 0; round < LOCK_ROUNDS; round++) {
        const locks = await Promise.all(
          workers.map(async (w, i) => {
            const lock = await w.workflowRuns.acquire(run.id, `c${i}`, 30_000);
            if (lock) {
              holding++;
              maxHolding = Math.max(maxHolding, holding);
              wins[i]!++;
              // Work while holding: the others' attempts run meanwhile and must fail.
              await w.workflowRuns.advance(lock, { round });
              holding--;
              await w.workflowRuns.release(lock);
            }
            return lock;
          }),
        );
        const won = locks.filter((l) => l !== null);
        // Every contender asked at once; the holder released only after its work, and the
        // others' attempts overlapped it: one winner per round at most... and at least one.
        expect(won.length).toBeGreaterThanOrEqual(1);
        expect(new Set(won.map((l) => l!.token)).size).toBe(won.length);
      }
      const seconds = (performance.now() - started) / 1000;
      expect(maxHolding).toBe(1);
      const final = await db.asService('check').workflowRuns.get(run.id, ada.id);
      const total = wins.reduce((a, b) => a + b, 0);
      // Each acquisition advanced exactly once, and each got its own token.
      expect(final.currentStep).toBe(total);
      expect(final.lockToken).toBe(total);
      expect(final.locked).toBe(false);
      console.info(
        `[seed-004] ${dialect}: ${CONTENDERS} contenders x ${LOCK_ROUNDS} lock rounds, ${total} acquisitions, ${seconds.toFixed(1)} s`,
      );
    });
  });
}
