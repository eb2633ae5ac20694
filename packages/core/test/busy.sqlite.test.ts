/**
 * SQLite under contention from another process (here: another connection): waiting for its
 * write lock happens on a timer, so the event loop keeps running, and a lock held past the
 * deadline ends in the typed, retryable `DatabaseBusyError`. (SQLite only: Postgres waits for
 * row locks in the server.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  createStatements,
  type Database,
  DatabaseBusyError,
  run,
  serviceActor,
  statement,
} from '../src/index.ts';
import * as sample from '../testing/sample-schema.ts';
import { sampleOwners } from '../testing/sample-schema.ts';

const insertOwner = statement.count('busy.insertOwner', sampleOwners, ['email'], ({ db, t, $ }) =>
  db.insert(t).values({ email: $.email }),
);

describe('SQLite under another connection’s write lock', () => {
  let dir: string;
  let db: Database;
  let other: BetterSqlite3.Database;
  const ctx = () => ({ exec: db, actor: serviceActor('busy test'), crypto: undefined as never });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'exora-busy-'));
    const file = join(dir, 'busy.db');
    db = connect(file, { sqlite: { busyTimeoutMs: 400 } });
    other = new BetterSqlite3(file);
    other.pragma('journal_mode = WAL');
    for (const s of await createStatements('sqlite', sample)) other.exec(s);
  });
  afterAll(async () => {
    other?.close();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits without blocking the event loop, then fails typed and retryable', async () => {
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    const error = await run(ctx(), insertOwner, { email: 'busy@example.test' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    clearInterval(timer);
    other.exec('ROLLBACK');
    expect(error).toBeInstanceOf(DatabaseBusyError);
    expect((error as DatabaseBusyError).retryable).toBe(true);
    expect((error as DatabaseBusyError).code).toBe('DATABASE_BUSY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // The loop ran while the call waited (a wait inside SQLite would freeze it: no tick at all
    // until the end). Timers are late on a loaded machine, so only a few ticks are required.
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('goes through once the other connection lets go', async () => {
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('COMMIT'), 100);
    await run(ctx(), insertOwner, { email: 'after@example.test' });
    const row = other
      .prepare("select count(*) as n from sample_owners where email = 'after@example.test'")
      .get() as { n: number };
    expect(row.n).toBe(1);
  });

  it('a unit of several statements waits the same way', async () => {
    other.exec('BEGIN IMMEDIATE');
    setTimeout(() => other.exec('COMMIT'), 100);
    await db.unit(ctx(), 'write', async (tx) => {
      await run({ ...ctx(), exec: tx }, insertOwner, { email: 'u1@example.test' });
      await run({ ...ctx(), exec: tx }, insertOwner, { email: 'u2@example.test' });
    });
    const row = other
      .prepare("select count(*) as n from sample_owners where email like 'u_@example.test'")
      .get() as { n: number };
    expect(row.n).toBe(2);
  });
});
