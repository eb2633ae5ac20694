/**
 * Read replicas. On Postgres, against a real streaming standby (a throwaway primary and a
 * `pg_basebackup -R` standby the harness starts, or TEST_REPLICA_URL), as an application role
 * under row-level security: where a stale read lands (`pg_is_in_recovery()`), read-your-writes,
 * isolation through the replica, and a replica stopped mid-test. On SQLite, which has no
 * replicas: the start-up error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, contextOf, type Database, type Dialect, run, statement } from '@exora/core';
import {
  createTestDatabase,
  provideReplicaPair,
  type ReplicaPair,
  type TestDatabase,
} from '@exora/core/testing';
import { createTestCrypto, createTestEnv } from '@exora/crypto/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createDb,
  type ExoraDb,
  type Repositories,
  schema,
} from '../../src/index.ts';

const APP_ROLE = 'exora_replica_test_app';

/** Which server a read ran on, through the engine: the actor's projects, and the standby flag. */
const whereStale = statement.many(
  'test.replicas.whereStale',
  schema.projects,
  [],
  ({ db, t, owned }) =>
    db.select({ id: t.id, standby: sql<boolean>`pg_is_in_recovery()` }).from(t).where(owned()),
  { stale: true },
);
const whereFresh = statement.many(
  'test.replicas.whereFresh',
  schema.projects,
  [],
  ({ db, t, owned }) =>
    db.select({ id: t.id, standby: sql<boolean>`pg_is_in_recovery()` }).from(t).where(owned()),
);
/** Every project the database lets the actor see: no owner filter, row-level security alone. */
const everyProject = statement.many(
  'test.replicas.everyProject',
  schema.projects,
  [],
  ({ db, t }) =>
    db.select({ userId: t.userId, standby: sql<boolean>`pg_is_in_recovery()` }).from(t),
  { unscoped: 'the test: only row-level security decides what is seen', stale: true },
);

const withRole = (url: string, database: string, role: string) => {
  const u = new URL(url);
  u.username = role;
  u.password = '';
  u.pathname = `/${database}`;
  return u.toString();
};

export function replicasSuite(dialect: Dialect) {
  if (dialect === 'sqlite') {
    describe('read replicas (sqlite)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'exora-replicas-'));
      const url = join(dir, 'exora.db');
      afterAll(() => rmSync(dir, { recursive: true, force: true }));
      const replica = 'postgres://reader:s3cret-pw@replica.internal:5432/exora';

      it('refuses replicas at start-up, naming neither URL nor password', () => {
        for (const open of [
          () => createDb({ url, replicas: [replica], crypto: createTestCrypto() }),
          () =>
            createDb({
              url,
              env: { ...createTestEnv(), DATABASE_REPLICA_URLS: `${replica},${replica}` },
            }),
        ]) {
          let error: unknown;
          try {
            open();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(ConfigurationError);
          const message = (error as Error).message;
          expect(message).toMatch(/replicas.*SQLite/);
          for (const secret of ['s3cret', 'reader', 'replica.internal', url]) {
            expect(message).not.toContain(secret);
          }
        }
      });

      it('runs stale reads like any other without replicas', async () => {
        const test = await createTestDatabase('sqlite', [schema], { sqliteUrl: url });
        const db = createDb({ url: test.url, replicas: [], crypto: createTestCrypto() });
        try {
          const user = await db.asService('signup').users.create({ email: 'ada@example.com' });
          const me = db.forUser(user.id);
          const project = await me.projects.create({ name: 'P', totalSteps: 1 });
          expect((await me.projects.list()).items.map((p) => p.id)).toEqual([project.id]);
          expect(db.replicas()).toEqual([]);
        } finally {
          await db.close();
          await test.dispose();
        }
      });
    });
    return;
  }

  describe('read replicas (postgres: a streaming standby, application role)', () => {
    let pair: ReplicaPair;
    let test: TestDatabase;
    let db: ExoraDb;
    /** Superuser on the standby's copy of the test database (pausing replay). */
    let standby: Database;
    let a: { id: string };
    let b: { id: string };

    beforeAll(async () => {
      pair = await provideReplicaPair();
      test = await createTestDatabase('postgres', [schema], { adminUrl: pair.primaryUrl });
      const database = new URL(test.url).pathname.slice(1);
      const admin = connect(test.url);
      await admin.execute(
        sql.raw(`
        do $$ begin
          create role ${APP_ROLE} login nosuperuser nobypassrls;
        exception when duplicate_object or unique_violation then null;
        end $$`),
      );
      await admin.execute(sql.raw(`grant usage on schema public to ${APP_ROLE}`));
      await admin.execute(
        sql.raw(
          `grant select, insert, update, delete on all tables in schema public to ${APP_ROLE}`,
        ),
      );
      await admin.close();
      await pair.waitForReplay();
      standby = connect(withRole(pair.replicaUrl, database, 'postgres'));
      db = createDb({
        url: withRole(test.url, database, APP_ROLE),
        replicas: [withRole(pair.replicaUrl, database, APP_ROLE)],
        // Replay is paused below for a while: the lag limit is not what is tested there.
        replication: { checkIntervalMs: 50, maxLagMs: 60_000 },
        crypto: createTestCrypto(),
      });
      await db.ready();
      const signup = db.asService('signup');
      a = await signup.users.create({ email: 'a@example.com' });
      b = await signup.users.create({ email: 'b@example.com' });
      await db.forUser(a.id).projects.create({ name: 'A1', totalSteps: 1 });
      await db.forUser(b.id).projects.create({ name: 'B1', totalSteps: 1 });
    });
    afterAll(async () => {
      await standby?.close();
      await db?.close();
      await test?.dispose();
      await pair?.stop();
    });

    /** Until the standby has every write so far and the router has seen it do so. */
    async function caughtUp() {
      await pair.waitForReplay();
      await db.database.replicas!.check();
      expect(db.replicas()).toMatchObject([{ usable: true, state: 'ok' }]);
    }
    const ctx = (repos: Repositories) => contextOf(repos);

    it('sends stale reads to the standby, other reads and transactions to the primary', async () => {
      await caughtUp();
      const me = db.forUser(a.id);
      const before = db.replicas()[0]!.reads;
      expect(await run(ctx(me), whereStale, {})).toEqual([
        expect.objectContaining({ standby: true }),
      ]);
      expect(await run(ctx(me), whereFresh, {})).toEqual([
        expect.objectContaining({ standby: false }),
      ]);
      const inside = await me.transaction((r) => run(ctx(r), whereStale, {}));
      expect(inside).toEqual([expect.objectContaining({ standby: false })]);
      // A repository list marked stale is served there too.
      expect((await me.projects.list()).items.map((p) => p.name)).toEqual(['A1']);
      expect(db.replicas()[0]!.reads).toBe(before + 2);
    });

    it("reads an actor's own writes at once, others' as the standby has them", async () => {
      await caughtUp();
      await standby.execute(sql`select pg_wal_replay_pause()`);
      try {
        const me = db.forUser(a.id);
        await me.projects.create({ name: 'A2', totalSteps: 1 });
        // A wrote: its reads go to the primary until the standby has replayed that write.
        expect((await me.projects.list()).items.map((p) => p.name)).toEqual(['A2', 'A1']);
        expect((await run(ctx(me), whereStale, {})).map((r) => r.standby)).toEqual([false, false]);
        // B did not write: B's stale reads stay on the standby, which has not seen B2 yet.
        await db.asService('import').projects.create({ name: 'B2', totalSteps: 1 }, b.id);
        const other = db.forUser(b.id);
        expect((await other.projects.list()).items.map((p) => p.name)).toEqual(['B1']);
        expect(await run(ctx(other), whereStale, {})).toEqual([
          expect.objectContaining({ standby: true }),
        ]);
      } finally {
        await standby.execute(sql`select pg_wal_replay_resume()`);
      }
      await caughtUp();
      expect((await db.forUser(b.id).projects.list()).items.map((p) => p.name)).toEqual([
        'B2',
        'B1',
      ]);
      const me = await run(ctx(db.forUser(a.id)), whereStale, {});
      expect(me.map((r) => r.standby)).toEqual([true, true]);
    });

    it('keeps tenants apart on the standby by row-level security alone', async () => {
      await caughtUp();
      for (const user of [a, b]) {
        const rows = await run(ctx(db.forUser(user.id)), everyProject, {});
        expect(rows.length).toBe(2);
        expect(rows.every((r) => r.userId === user.id && r.standby)).toBe(true);
      }
      // The application role on the standby without the actor's settings sees no one's rows.
      const database = new URL(test.url).pathname.slice(1);
      const raw = connect(withRole(pair.replicaUrl, database, APP_ROLE));
      try {
        const rows = await raw.execute(
          sql`select count(*)::int as n, pg_is_in_recovery() as standby from projects`,
        );
        expect(rows).toEqual([{ n: 0, standby: true }]);
      } finally {
        await raw.close();
      }
    });

    it('skips a standby that lags past the limit until it catches up', async () => {
      await caughtUp();
      const database = new URL(test.url).pathname.slice(1);
      const strict = createDb({
        url: withRole(test.url, database, APP_ROLE),
        replicas: [withRole(pair.replicaUrl, database, APP_ROLE)],
        replication: { checkIntervalMs: 50, maxLagMs: 300 },
        crypto: createTestCrypto(),
      });
      try {
        await strict.ready();
        const reader = strict.forUser(b.id);
        expect(strict.replicas()).toMatchObject([{ usable: true, state: 'ok' }]);
        expect((await run(ctx(reader), whereStale, {}))[0]?.standby).toBe(true);
        await standby.execute(sql`select pg_wal_replay_pause()`);
        try {
          // Someone else writes: the standby falls behind, and stays behind while paused.
          await db.forUser(a.id).projects.create({ name: 'A3', totalSteps: 1 });
          await new Promise((r) => setTimeout(r, 1000));
          await strict.database.replicas!.check();
          expect(strict.replicas()).toMatchObject([{ usable: false, state: 'lagging' }]);
          expect(strict.replicas()[0]!.lagMs).toBeGreaterThan(300);
          expect((await run(ctx(reader), whereStale, {})).map((r) => r.standby)).toEqual([
            false,
            false,
          ]);
        } finally {
          await standby.execute(sql`select pg_wal_replay_resume()`);
        }
        await pair.waitForReplay();
        await strict.database.replicas!.check();
        expect(strict.replicas()).toMatchObject([{ usable: true, state: 'ok' }]);
        expect((await run(ctx(reader), whereStale, {}))[0]?.standby).toBe(true);
      } finally {
        await strict.close();
      }
    });

    it('falls back to the primary when the standby stops mid-test, with no error', async () => {
      await caughtUp();
      const readers = [a, b].map((u) => db.forUser(u.id));
      let stopped = false;
      let stoppedAt = 0;
      const reads: Promise<string[]>[] = [];
      const deadline = Date.now() + 1500;
      const loop = async () => {
        while (Date.now() < deadline || !stopped || Date.now() < stoppedAt + 300) {
          const reader = readers[reads.length % 2]!;
          const read = reader.projects.list().then((p) => p.items.map((x) => x.name));
          reads.push(read);
          await read;
        }
      };
      const loops = [loop(), loop(), loop()];
      await new Promise((r) => setTimeout(r, 200));
      const servedBefore = db.replicas()[0]!.reads;
      await pair.stopReplica();
      stopped = true;
      stoppedAt = Date.now();
      await Promise.all(loops);
      const results = await Promise.all(reads);
      expect(servedBefore).toBeGreaterThan(0);
      for (const names of results) {
        expect([
          ['A3', 'A2', 'A1'],
          ['B2', 'B1'],
        ]).toContainEqual(names);
      }
      await db.database.replicas!.check();
      expect(db.replicas()).toMatchObject([{ usable: false, state: 'down' }]);
      // Reads were in flight on it or sent to it before a check saw it gone: run again, unseen.
      expect(db.replicas()[0]!.failovers).toBeGreaterThan(0);
      const after = await run(ctx(readers[0]!), whereStale, {});
      expect(after.map((r) => r.standby)).toEqual([false, false, false]);
    });
  });
}
