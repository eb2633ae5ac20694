/**
 * `pnpm --filter @exora/bench bench:queue`: the email queue's claim rate on Postgres, 8 workers
 * (each its own connection, as the application role with row-level security) claiming jobs until
 * none is left, one claim statement per call. Prints jobs per second for claims of 1 and of 10
 * jobs; each run checks that every job was claimed exactly once.
 *
 * BENCH_DATABASE_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres): a
 * database exora_bench_queue_<time> is created there and dropped at the end.
 * BENCH_QUEUE_JOBS (default 20000) and BENCH_QUEUE_WORKERS (default 8) size the run;
 * BENCH_SYNCHRONOUS_COMMIT=off sets the database's synchronous_commit off (a claim's commit then
 * does not wait for the disk: shows how much of a claim is the flush).
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, type ExoraDb, schema } from '@exora/db';
import postgres from 'postgres';
import { asRole, pushWithAppRole } from './app-database.ts';

const JOBS = Number(process.env.BENCH_QUEUE_JOBS ?? 20_000);
const WORKERS = Number(process.env.BENCH_QUEUE_WORKERS ?? 8);
const APP_ROLE = 'exora_bench_queue_app';
const SYNC_COMMIT = process.env.BENCH_SYNCHRONOUS_COMMIT === 'off' ? 'off' : 'on';
const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function fill(db: ExoraDb, userId: string): Promise<void> {
  const service = db.asService('bench enqueue');
  const emails = Array.from({ length: JOBS }, (_, i) => ({
    id: randomUUID(),
    userId,
    subject: `bench ${i}`,
    body: 'b',
    recipients: ['bench@example.test'],
  }));
  for (let at = 0; at < JOBS; at += 10_000) {
    const chunk = emails.slice(at, at + 10_000);
    await service.insertMany(schema.emails, chunk);
    await service.insertMany(
      schema.emailQueue,
      chunk.map((e, i) => ({ emailId: e.id, priority: (at + i) % 10 })),
    );
  }
}

/** Workers claim `batch` jobs per call until the queue is empty; jobs per second. */
async function drain(handles: ExoraDb[], batch: number): Promise<number> {
  const started = performance.now();
  const claimed = await Promise.all(
    handles.map(async (db, i) => {
      const queue = db.asService(`worker ${i}`).emailQueue;
      let ids: string[] = [];
      for (;;) {
        const jobs = await queue.claimNext(`w${i}`, batch);
        if (jobs.length === 0) return ids;
        ids = ids.concat(jobs.map((j) => j.id));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const all = claimed.flat();
  if (all.length !== JOBS || new Set(all).size !== JOBS) {
    throw new Error(`claimed ${all.length} jobs (${new Set(all).size} distinct) of ${JOBS}`);
  }
  return JOBS / seconds;
}

const name = `exora_bench_queue_${Date.now()}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const target = new URL(adminUrl);
console.log(
  `bench:queue: database ${name} on ${target.hostname}:${target.port || 5432} (dropped at the end); ${WORKERS} workers, ${JOBS} jobs per run, synchronous_commit ${SYNC_COMMIT}; Node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`,
);
await admin.unsafe(`create database ${name}`);
await admin.unsafe(`alter database ${name} set synchronous_commit = ${SYNC_COMMIT}`);
try {
  target.pathname = `/${name}`;
  await pushWithAppRole(target.toString(), APP_ROLE);
  const url = asRole(target, APP_ROLE);
  const crypto = createTestCrypto();
  const db = createDb({ url, crypto, env: {} });
  const handles = Array.from({ length: WORKERS }, () =>
    createDb({ url, crypto, env: { DATABASE_POOL_MAX: '1' } }),
  );
  try {
    const user = await db.asService('bench').users.create({ email: 'queue-bench@example.test' });
    for (const batch of [1, 10]) {
      for (let round = 1; round <= 3; round++) {
        await fill(db, user.id);
        const rate = await drain(handles, batch);
        console.log(
          `claim ${String(batch).padStart(2)} per call, round ${round}: ${Math.round(rate)} jobs/s (each of ${JOBS} claimed once)`,
        );
      }
    }
  } finally {
    await Promise.all([db.close(), ...handles.map((h) => h.close())]);
  }
} finally {
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`drop role if exists ${APP_ROLE}`).catch(() => {});
  await admin.end();
}
