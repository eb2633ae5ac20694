/**
 * `pnpm --filter @exora/bench bench:replicas`: stale reads per second through `createDb` with
 * 0, 1 and 2 read replicas. Starts a throwaway primary and two `pg_basebackup -R` standbys (the
 * test harness's servers, from the Postgres binaries it finds; all on this machine), pushes the
 * schema, seeds users with projects, then for each replica count runs BENCH_CONCURRENCY callers
 * (default 32) for BENCH_SECONDS (default 5) each listing a random user's projects (a keyset
 * page of 20, a statement marked stale) as the application role. The counts are measured in
 * BENCH_ROUNDS rounds (default 3), the order rotated each round; the median is reported, with
 * the ratio to 0 replicas, this process's CPU use and the load average.
 */
import { cpus, loadavg } from 'node:os';
import { provideReplicaPair } from '@exora/core/testing/replicas';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, schema } from '@exora/db';
import postgres from 'postgres';
import { pushWithAppRole } from './app-database.ts';
import { markdownTable } from './markdown.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const USERS = 200;
const PROJECTS_PER_USER = 20;
const APP_ROLE = 'exora_bench_replicas_app';
const REPLICA_COUNTS = [0, 1, 2];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const withRole = (url: string, database: string, role: string) => {
  const u = new URL(url);
  u.username = role;
  u.pathname = `/${database}`;
  return u.toString();
};

async function main() {
  const load = [loadavg()[0]!];
  console.log(
    `Starting a throwaway primary and 2 standbys (load average ${load[0]!.toFixed(2)}, ${cpus().length} cores)`,
  );
  const env = { ...process.env };
  delete env.TEST_REPLICA_URL; // always this machine's own servers
  const servers = await provideReplicaPair({ env, standbys: 2 });
  const database = 'exora_bench_replicas';
  try {
    const admin = postgres(servers.primaryUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${database}`);
    await admin.end();
    await pushWithAppRole(withRole(servers.primaryUrl, database, 'postgres'), APP_ROLE);

    const primary = withRole(servers.primaryUrl, database, APP_ROLE);
    const replicas = servers.replicaUrls.map((u) => withRole(u, database, APP_ROLE));
    const crypto = createTestCrypto();
    const seeder = createDb({ url: primary, crypto, replicas: [] });
    const users: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const user = await seeder.asService('bench seed').users.create({
        email: `reader${i}@example.test`,
      });
      users.push(user.id);
    }
    await seeder.asService('bench seed').insertMany(
      schema.projects,
      users.flatMap((userId) =>
        Array.from({ length: PROJECTS_PER_USER }, (_, p) => ({
          userId,
          name: `p${p}`,
          totalSteps: 3,
        })),
      ),
    );
    await seeder.close();
    await servers.waitForReplay(60_000);

    const counts = new Map<number, number[]>(REPLICA_COUNTS.map((n) => [n, []]));
    const cpu = new Map<number, number[]>(REPLICA_COUNTS.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = REPLICA_COUNTS.map((_, i) => REPLICA_COUNTS[(i + round) % 3]!);
      for (const n of order) {
        const db = createDb({
          url: primary,
          crypto,
          replicas: replicas.slice(0, n),
          env: { DATABASE_POOL_MAX: '10' },
        });
        await db.ready();
        if (db.replicas().some((r) => !r.usable)) throw new Error('a standby is not usable');
        const readers = users.map((u) => db.forUser(u));
        let reads = 0;
        let measuring = false;
        let stop = false;
        const worker = async (w: number) => {
          for (let i = w; !stop; i += CONCURRENCY) {
            const page = await readers[i % USERS]!.projects.list({ limit: 20 });
            if (page.items.length !== 20) throw new Error('a page of 20 projects expected');
            if (measuring) reads++;
          }
        };
        const workers = Array.from({ length: CONCURRENCY }, (_, w) => worker(w));
        await new Promise((r) => setTimeout(r, 1000)); // warm: connections, prepared statements
        measuring = true;
        const cpuBefore = process.cpuUsage();
        const started = performance.now();
        await new Promise((r) => setTimeout(r, SECONDS * 1000));
        measuring = false;
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpuBefore);
        stop = true;
        await Promise.all(workers);
        const served = db.replicas().map((r) => r.reads);
        await db.close();
        counts.get(n)!.push(reads / seconds);
        cpu.get(n)!.push((used.user + used.system) / 1e6 / seconds);
        console.log(
          `round ${round + 1}, ${n} replicas: ${Math.round(reads / seconds)} reads/s` +
            (n > 0 ? ` (served by the replicas: ${served.join(', ')})` : ''),
        );
      }
    }
    load.push(loadavg()[0]!);
    const base = median(counts.get(0)!);
    const rows = REPLICA_COUNTS.map((n) => {
      const rate = median(counts.get(n)!);
      return [
        String(n),
        String(Math.round(rate)),
        `${(rate / base).toFixed(2)}x`,
        counts
          .get(n)!
          .map((c) => Math.round(c))
          .join(', '),
        `${Math.round(median(cpu.get(n)!) * 100)}%`,
      ];
    });
    console.log('');
    console.log(
      `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}); ${CONCURRENCY} callers, ${SECONDS} s x ${ROUNDS} rounds; load average ${load[0]!.toFixed(2)} at start, ${load[1]!.toFixed(2)} at end`,
    );
    console.log('');
    console.log(
      markdownTable(
        ['replicas', 'reads/s (median)', 'ratio to 0', 'rounds', 'bench process CPU'],
        [true, true, true, false, true],
        rows,
      ).join('\n'),
    );
  } finally {
    await servers.stop();
  }
}

await main();
