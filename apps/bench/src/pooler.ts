/**
 * `pnpm --filter @exora/bench bench:pooler`: what a transaction-mode pooler costs a call. The
 * same calls through `createDb` as the application role, three ways, rounds interleaved:
 *  - direct: named prepared statements, BEGIN / actor / statement / COMMIT in one round trip;
 *  - direct, pooler settings: `?pooler=transaction` against Postgres itself (unnamed statements,
 *    each described first, nothing pipelined): the cost of the settings alone;
 *  - PgBouncer: the same settings through PgBouncer in pool_mode = transaction (the harness
 *    starts /usr/sbin/pgbouncer on a free port, or TEST_POOLER_URL), as many server connections
 *    as the client pool has.
 * Prints microseconds per call one at a time and calls per second with 16 callers at once
 * (medians of the rounds), each with its ratio to direct (the median of the per-round ratios).
 *
 * BENCH_DATABASE_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres): a
 * database exora_bench_pooler_<time> is created there and dropped at the end.
 * BENCH_POOLER_CALLS (default 300 per round and way) and BENCH_ROUNDS (default 7) size the run.
 */
import { cpus, loadavg } from 'node:os';
import { providePooler } from '@exora/core/testing';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, type ExoraDb } from '@exora/db';
import postgres from 'postgres';
import { asRole, pushWithAppRole } from './app-database.ts';

const CALLS = Number(process.env.BENCH_POOLER_CALLS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CONCURRENCY = 16;
const POOL = 10;
const APP_ROLE = 'exora_bench_pooler_app';
const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

type Operation = (db: ExoraDb, userId: string, i: number) => Promise<unknown>;

const operations: Record<string, Operation> = {
  'get a profile': (db, userId) => db.forUser(userId).userProfiles.get(),
  'upsert a profile': (db, userId, i) =>
    db.forUser(userId).userProfiles.upsert({ displayName: `bench ${i}` }),
  'get a decrypted OAuth grant': (db, userId) =>
    db.forUser(userId).oauthTokens.getDecrypted('google'),
  'two calls in a transaction': (db, userId, i) =>
    db.forUser(userId).transaction(async (r) => {
      await r.userProfiles.upsert({ bio: `bench ${i}` });
      return r.userProfiles.get();
    }),
};

/** Microseconds per call, one call at a time. */
async function serial(db: ExoraDb, userId: string, op: Operation): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) await op(db, userId, i);
  return ((performance.now() - started) * 1000) / CALLS;
}

/** Calls per second with CONCURRENCY callers. */
async function concurrent(db: ExoraDb, userId: string, op: Operation): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) await op(db, userId, next++);
    }),
  );
  return CALLS / ((performance.now() - started) / 1000);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const name = `exora_bench_pooler_${Date.now()}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const target = new URL(adminUrl);
console.log(
  `bench:pooler: database ${name} on ${target.hostname}:${target.port || 5432} (dropped at the end); ${CALLS} calls per round and way, ${ROUNDS} rounds; Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`,
);
await admin.unsafe(`create database ${name}`);
try {
  target.pathname = `/${name}`;
  await pushWithAppRole(target.toString(), APP_ROLE);
  const app = asRole(target, APP_ROLE);
  const pooler = await providePooler(adminUrl, { poolSize: POOL });
  const crypto = createTestCrypto();
  const env = { DATABASE_POOL_MAX: String(POOL) };
  const ways: [string, ExoraDb][] = [
    ['direct', createDb({ url: app, crypto, env })],
    ['direct, pooler settings', createDb({ url: `${app}?pooler=transaction`, crypto, env })],
    ['PgBouncer', createDb({ url: pooler.via(app), crypto, env })],
  ];
  try {
    const user = await ways[0]![1].asService('bench').users.create({
      email: 'pooler-bench@example.test',
    });
    const me = ways[0]![1].forUser(user.id);
    await me.userProfiles.upsert({ displayName: 'bench' });
    await me.oauthTokens.save({ provider: 'google', accessToken: 'bench-access-token' });
    const rows: string[][] = [];
    for (const [label, op] of Object.entries(operations)) {
      const latency = ways.map(() => [] as number[]);
      const rate = ways.map(() => [] as number[]);
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with another way, so no way always runs after the same one.
        for (let k = 0; k < ways.length; k++) {
          const w = (round + k) % ways.length;
          const db = ways[w]![1];
          latency[w]![round] = await serial(db, user.id, op);
          rate[w]![round] = await concurrent(db, user.id, op);
        }
      }
      // Each ratio is taken within a round (the ways ran one after the other), then the median.
      const ratio = (runs: number[][], w: number) =>
        median(runs[w]!.map((v, round) => v / runs[0]![round]!)).toFixed(2);
      rows.push([
        label,
        ...latency.map(
          (runs, w) => `${median(runs).toFixed(0)} µs${w ? ` (${ratio(latency, w)}x)` : ''}`,
        ),
        ...rate.map((runs, w) => `${median(runs).toFixed(0)}/s${w ? ` (${ratio(rate, w)}x)` : ''}`),
      ]);
    }
    const head = [
      'operation',
      ...ways.map(([w]) => `${w}: one at a time`),
      ...ways.map(([w]) => `${w}: ${CONCURRENCY} at once`),
    ];
    for (const row of [head, ...rows]) console.log(`| ${row.join(' | ')} |`);
    console.log(`load average at the end ${loadavg()[0]!.toFixed(1)}`);
  } finally {
    await Promise.all(ways.map(([, db]) => db.close()));
    await pooler.stop();
  }
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`drop role if exists ${APP_ROLE}`).catch(() => {});
  await admin.end();
}
