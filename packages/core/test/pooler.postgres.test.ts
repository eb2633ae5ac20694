/**
 * The core through PgBouncer in `pool_mode = transaction` (started by the harness, or
 * TEST_POOLER_URL): every core suite, then why the pooler setting is needed and how it is given.
 */
import { type AddressInfo, createServer, connect as tcpConnect } from 'node:net';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database, serviceActor, statement } from '../src/index.ts';
import {
  createTestDatabase,
  type Pooler,
  providePooler,
  type TestDatabase,
} from '../testing/index.ts';
import * as sample from '../testing/sample-schema.ts';
import { coreSuites } from './suites/index.ts';

coreSuites('postgres', { pooler: true });

const listOwners = statement.many(
  'test.pooler.listOwners',
  sample.sampleOwners,
  [],
  ({ db, t }) => db.select({ id: t.id }).from(t),
  { serviceOnly: true },
);
const call = { actor: serviceActor('pooler test'), crypto: undefined };
const withoutPoolerParameter = (url: string) => {
  const u = new URL(url);
  u.searchParams.delete('pooler');
  return u.toString();
};

describe('the pooler setting (postgres through PgBouncer, transaction mode)', () => {
  let test: TestDatabase;
  // Its own PgBouncers even when TEST_POOLER_URL is set: the proofs below need a pool of two.
  const { TEST_POOLER_URL: _, ...env } = process.env;
  let pooler: Pooler;
  beforeAll(async () => {
    test = await createTestDatabase('postgres', [sample]);
    pooler = await providePooler(test.url, { poolSize: 2, env });
  });
  afterAll(async () => {
    await pooler?.stop();
    await test?.dispose();
  });

  /**
   * Runs a statement, then again while another client holds the server connection the first run
   * used (PgBouncer hands out the most recently used one first): the second run lands on
   * another server connection.
   */
  async function twoServerConnections(db: Database, through: Pooler) {
    await db.run(call, listOwners, {});
    const other = postgres(withoutPoolerParameter(through.via(test.url)), {
      max: 1,
      prepare: false,
      onnotice: () => {},
    });
    const held = await other.reserve();
    try {
      await held.unsafe('begin');
      await held.unsafe('select 1');
      return await db.run(call, listOwners, {});
    } finally {
      await held.unsafe('commit');
      held.release();
      await other.end({ timeout: 2 });
    }
  }

  it('without it, a statement prepared on one server connection is missing on the next', async () => {
    // A pooler of its own: what this breaks stays broken until the pooler stops.
    const own = await providePooler(test.url, { poolSize: 2, env });
    const db = connect(withoutPoolerParameter(own.via(test.url)), { schema: [sample] });
    try {
      // The named statement does not exist on the second server connection: the call's
      // transaction fails (SQLSTATE 26000, then 25P02 for the rest of the pipeline), or the
      // driver's retry of it, written behind the transaction's end, never gets its answer.
      const outcome = await Promise.race([
        twoServerConnections(db, own).then(
          () => 'completed',
          (error: { code?: string }) => error.code,
        ),
        new Promise((resolve) => setTimeout(resolve, 5_000, 'no answer')),
      ]);
      expect(['QUERY_FAILED', 'no answer']).toContain(outcome);
    } finally {
      await db.close();
      await own.stop();
    }
  });

  it('with ?pooler=transaction, every call works, and the parameter never reaches the server', async () => {
    const url = pooler.via(test.url);
    expect(url).toContain('pooler=transaction');
    const db = connect(url, { schema: [sample] });
    try {
      expect(await twoServerConnections(db, pooler)).toEqual([]);
      expect(db.safeUrl).not.toContain('pooler');
    } finally {
      await db.close();
    }
  });

  it('with DATABASE_POOLER=transaction, the same', async () => {
    const db = connect(withoutPoolerParameter(pooler.via(test.url)), {
      schema: [sample],
      env: { DATABASE_POOLER: 'transaction' },
    });
    try {
      expect(await twoServerConnections(db, pooler)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('a call is one round trip once its statement is known, as directly', async () => {
    // A relay in front of Postgres counts round trips: client bytes after server bytes.
    let trips = 0;
    let last: 'client' | 'server' = 'server';
    const target = new URL(test.url);
    const relay = createServer((client) => {
      const server = tcpConnect(Number(target.port || 5432), target.hostname);
      client.on('data', (d) => {
        if (last === 'server') trips++;
        last = 'client';
        server.write(d);
      });
      server.on('data', (d) => {
        last = 'server';
        client.write(d);
      });
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as AddressInfo;
    const through = (url: string) => {
      const u = new URL(url);
      u.port = String(port);
      return u.toString();
    };
    const tripsOf = async (db: Database) => {
      await db.run(call, listOwners, {}); // connects, and describes the statement once
      await db.run(call, listOwners, {});
      const before = trips;
      await db.run(call, listOwners, {});
      return trips - before;
    };
    const options = { schema: [sample], env: { DATABASE_POOL_MAX: '1' } };
    const direct = connect(through(test.url), options);
    const pooled = connect(`${through(test.url)}?pooler=transaction`, options);
    try {
      expect({ direct: await tripsOf(direct), pooled: await tripsOf(pooled) }).toEqual({
        direct: 1,
        pooled: 1,
      });
    } finally {
      await Promise.all([direct.close(), pooled.close()]);
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('answers every client its own rows when autocommit queries come at once', async () => {
    // Two clients, one server connection: parameterless queries (the simple protocol) mixed
    // with parameterised ones, from both at once, many times.
    const one = await providePooler(test.url, { poolSize: 1, env });
    const url = one.via(test.url);
    const a = connect(url, { schema: [sample] });
    const b = connect(url, { schema: [sample], env: { DATABASE_POOL_MAX: '1' } });
    try {
      const answers: Promise<boolean>[] = [];
      for (let i = 0; i < 200; i++) {
        const db = i % 2 ? a : b;
        const query = i % 3 ? sql`select ${i}::int as n` : sql.raw(`select ${i}::int as n`);
        answers.push(db.execute<{ n: number }>(query).then((rows) => rows[0]?.n === i));
      }
      // Without the setting, some answer goes to the other client and this never settles.
      const settled = await Promise.race([
        Promise.all(answers).then((all) => all.every(Boolean)),
        new Promise((resolve) => setTimeout(resolve, 10_000, 'no answer within 10 s')),
      ]);
      expect(settled).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await one.stop();
    }
  });
});
