/**
 * A data layer must survive a database restart or failover: connections killed in the middle of
 * a transaction, or while idle in the pool, must fail the calls they carried with a typed,
 * retryable error, never take the process down, and leave nothing half-written; the next call
 * must work. (postgres.js 3.4.9 wrote to a null socket after such a kill, an exception no caller
 * could catch; `patches/postgres@3.4.9.patch` fixes it.)
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionError,
  type Database,
  type DomainContext,
  run,
  statement,
  unit,
  userActor,
} from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import * as sample from '../testing/sample-schema.ts';
import { sampleItems, sampleOwners } from '../testing/sample-schema.ts';

const insertItem = statement.count(
  'loss.insertItem',
  sampleItems,
  ['title'],
  ({ db, t, $, owner }) => db.insert(t).values({ ownerId: owner, title: $.title }),
);
const countItems = statement.count('loss.count', sampleItems, [], ({ db, t, owned }) =>
  db.select({ n: sql`1` }).from(t).where(owned()),
);
const listTitles = statement.many('loss.list', sampleItems, [], ({ db, t, owned }) =>
  db.select({ title: t.title }).from(t).where(owned()).orderBy(t.title),
);

describe('connection loss (postgres)', () => {
  let test: TestDatabase;
  let db: Database;
  let admin: postgres.Sql;
  let ownerId: string;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  const ctx = (): DomainContext => ({
    exec: db,
    actor: userActor(ownerId),
    crypto: undefined as never,
  });
  /** Terminates every backend of this test's database but the admin's own. */
  const killAll = () =>
    admin`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`;
  const titles = async () => (await run(ctx(), listTitles, {})).map((r) => r.title);

  beforeAll(async () => {
    test = await createTestDatabase('postgres', [sample]);
    db = test.db;
    admin = postgres(test.url, { max: 1, onnotice: () => {} });
    const [owner] = await db.db
      .insert(db.table(sampleOwners))
      .values({ email: `loss-${Date.now()}@example.test` })
      .returning();
    ownerId = owner!.id;
    process.on('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await admin?.end({ timeout: 2 });
    await test?.dispose();
  });
  beforeEach(async () => {
    await db.execute(sql`delete from sample_items`);
  });
  afterEach(async () => {
    // Give a deferred write (the old crash) the chance to fire before judging.
    await new Promise((r) => setTimeout(r, 50));
    expect(uncaught).toEqual([]);
  });

  it('a kill in the middle of a transaction fails it at once, typed, and commits nothing', async () => {
    const started = Date.now();
    const outcome = unit(ctx(), 'write', async (tx) => {
      await run(tx, insertItem, { title: 'before the kill' });
      await killAll();
      await run(tx, insertItem, { title: 'after the kill' });
    });
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await titles()).toEqual([]);
    await run(ctx(), insertItem, { title: 'next call' });
    expect(await titles()).toEqual(['next call']);
  });

  it('idle pool connections killed: the next calls work', async () => {
    await Promise.all([0, 1, 2, 3].map((i) => run(ctx(), insertItem, { title: `warm ${i}` })));
    await killAll();
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 5; i++) {
      // A call may land on a connection whose death the pool has not seen yet: it fails typed
      // and retryable, and a retry works.
      await run(ctx(), insertItem, { title: `after ${i}` }).catch(async (e: unknown) => {
        expect(e).toBeInstanceOf(ConnectionError);
        await run(ctx(), insertItem, { title: `after ${i}` });
      });
    }
    expect(await run(ctx(), countItems, {})).toBe(9);
  });

  it('a kill during a single call rejects it typed; nothing half-written', async () => {
    const calls = Array.from({ length: 20 }, (_, i) =>
      run(ctx(), insertItem, { title: `c${String(i).padStart(2, '0')}` }).then(
        () => 'ok' as const,
        (e: unknown) => {
          expect(e).toBeInstanceOf(ConnectionError);
          return 'lost' as const;
        },
      ),
    );
    await killAll();
    const outcomes = await Promise.all(calls);
    const stored = await titles();
    // Every call reported ok is stored; no call reported lost is (each call is one transaction).
    outcomes.forEach((o, i) => {
      const title = `c${String(i).padStart(2, '0')}`;
      if (o === 'ok') expect(stored).toContain(title);
    });
    expect(stored.length).toBeLessThanOrEqual(20);
    await run(ctx(), insertItem, { title: 'z next' });
    expect(await titles()).toContain('z next');
  });

  it('a kill while calls wait for a connection: they are served or fail typed', async () => {
    const many = Array.from({ length: 40 }, (_, i) =>
      unit(ctx(), 'write', async (tx) => {
        await run(tx, insertItem, { title: `w${i}` });
        await new Promise((r) => setTimeout(r, 5));
      }).then(
        () => 'ok' as const,
        (e: unknown) => {
          expect(e).toBeInstanceOf(ConnectionError);
          return 'lost' as const;
        },
      ),
    );
    await new Promise((r) => setTimeout(r, 10));
    await killAll();
    const outcomes = await Promise.all(many);
    const stored = new Set(await titles());
    outcomes.forEach((o, i) => {
      expect(stored.has(`w${i}`)).toBe(o === 'ok');
    });
    await run(ctx(), insertItem, { title: 'after waiters' });
    expect(stored.size + 1).toBe((await titles()).length);
  });
});
