/**
 * A Postgres primary and a hot standby streaming from it, for the read-replica tests:
 *  1. TEST_REPLICA_URL (a standby of TEST_DATABASE_URL, both admin URLs), reached through a
 *     local TCP relay so a test can cut it off as if it stopped;
 *  2. else a throwaway pair started from the binaries the harness finds (see
 *     `postgres-server.ts`): `initdb` and a primary (its `pg_hba.conf` from initdb trusts
 *     replication from 127.0.0.1, `wal_level` is `replica` by default), then
 *     `pg_basebackup -R` and the standby started on it. Every step is bounded in time; `stop()`
 *     removes both.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { canConnect, findPgBin, freePort, runCommand } from './postgres-server.ts';

export interface ReplicaPair {
  /** Superuser URL of the primary (database `postgres`). */
  primaryUrl: string;
  /** Superuser URL of the (first) standby (database `postgres`). */
  replicaUrl: string;
  /** Every standby's superuser URL (the throwaway pair can start more than one). */
  replicaUrls: string[];
  source: 'TEST_REPLICA_URL' | 'throwaway';
  /** Waits until every standby has replayed everything the primary has written so far. */
  waitForReplay(timeoutMs?: number): Promise<void>;
  /** Stops a standby at once (a crash, as clients see it); the primary keeps running. */
  stopReplica(index?: number): Promise<void>;
  /** Stops and removes whatever this pair started. */
  stop(): Promise<void>;
}

/** Server settings of both: fast and throwaway, enough connections for parallel test files. */
const SETTINGS =
  '-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=100';

/** A TCP relay to `host:port` on a free local port; `close()` drops every connection. */
async function relay(host: string, port: number) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = tcpConnect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const localPort = await new Promise<number>((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  return {
    port: localPort,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function waitForReplay(primaryUrl: string, replicaUrl: string, timeoutMs: number) {
  const primary = postgres(primaryUrl, { max: 1, onnotice: () => {} });
  const replica = postgres(replicaUrl, { max: 1, onnotice: () => {} });
  try {
    const [{ lsn }] = (await primary`select pg_current_wal_insert_lsn()::text as lsn`) as never as [
      { lsn: string },
    ];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [{ done }] = (await replica`
        select pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn as done`) as never as [{ done: boolean }];
      if (done) return;
      if (Date.now() > deadline) throw new Error(`the standby did not replay ${lsn} in time`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await Promise.all([primary.end({ timeout: 1 }), replica.end({ timeout: 1 })]);
  }
}

async function fromEnv(env: NodeJS.ProcessEnv): Promise<ReplicaPair> {
  const primaryUrl = env.TEST_DATABASE_URL;
  const given = env.TEST_REPLICA_URL!;
  if (!primaryUrl) {
    throw new Error('TEST_REPLICA_URL is set: set TEST_DATABASE_URL to its primary as well');
  }
  if (!(await canConnect(given))) throw new Error('TEST_REPLICA_URL is set but does not answer');
  const target = new URL(given);
  const cut = await relay(target.hostname, Number(target.port || 5432));
  const relayed = new URL(given);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(cut.port);
  const replicaUrl = relayed.toString();
  return {
    primaryUrl,
    replicaUrl,
    replicaUrls: [replicaUrl],
    source: 'TEST_REPLICA_URL',
    waitForReplay: (ms = 15_000) => waitForReplay(primaryUrl, replicaUrl, ms),
    stopReplica: async () => cut.close(),
    stop: () => cut.close(),
  };
}

async function throwaway(env: NodeJS.ProcessEnv, standbys: number): Promise<ReplicaPair> {
  const bin = (name: string) => {
    const path = findPgBin(name, env, {});
    if (!path) {
      throw new Error(
        `The read-replica tests start a primary and a standby, and need ${name}: install the ` +
          'Postgres server (Debian: apt-get install postgresql), set TEST_PG_BIN_DIR, or give ' +
          'TEST_REPLICA_URL (a standby of TEST_DATABASE_URL).',
      );
    }
    return path;
  };
  const [initdb, pgCtl, basebackup] = [bin('initdb'), bin('pg_ctl'), bin('pg_basebackup')];
  // initdb refuses to run as root: the servers run as the postgres system user then.
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'exora-replica-'));
  if (asUser) {
    const uid = spawnSync('id', ['-u', asUser], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', asUser], { encoding: 'utf8' });
    chownSync(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
  }
  const primaryData = join(dir, 'primary');
  const primaryPort = await freePort();
  const replicas: { data: string; port: number }[] = [];
  for (let i = 0; i < standbys; i++) {
    replicas.push({ data: join(dir, `replica${i}`), port: await freePort() });
  }
  const started: string[] = [];
  const stopServer = (data: string) => {
    if (!started.includes(data)) return;
    started.splice(started.indexOf(data), 1);
    runCommand(pgCtl, ['-D', data, '-m', 'immediate', '-w', '-t', '20', 'stop'], asUser);
  };
  const cleanUp = () => {
    try {
      for (const data of [...started]) stopServer(data);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const start = (data: string, port: number, log: string) => {
    runCommand(
      pgCtl,
      [
        '-D',
        data,
        '-l',
        join(dir, log),
        '-w',
        '-t',
        '30',
        '-o',
        `-p ${port} -k ${dir} ${SETTINGS}`,
        'start',
      ],
      asUser,
    );
    started.push(data);
  };
  try {
    runCommand(
      initdb,
      ['-D', primaryData, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'],
      asUser,
    );
    start(primaryData, primaryPort, 'primary.log');
    for (const [i, r] of replicas.entries()) {
      // -R writes primary_conninfo and standby.signal; -X stream copies the WAL it needs.
      runCommand(
        'timeout',
        [
          '60',
          basebackup,
          ...['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres'],
          ...['-D', r.data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
        ],
        asUser,
      );
      start(r.data, r.port, `replica${i}.log`);
    }
  } catch (error) {
    cleanUp();
    throw error;
  }
  const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
  const replicaUrls = replicas.map((r) => `postgres://postgres@127.0.0.1:${r.port}/postgres`);
  return {
    primaryUrl,
    replicaUrl: replicaUrls[0]!,
    replicaUrls,
    source: 'throwaway',
    waitForReplay: async (ms = 15_000) => {
      for (const url of replicaUrls) await waitForReplay(primaryUrl, url, ms);
    },
    stopReplica: async (index = 0) => stopServer(replicas[index]!.data),
    stop: async () => cleanUp(),
  };
}

/**
 * A primary and a streaming standby: TEST_REPLICA_URL's (with TEST_DATABASE_URL), else a
 * throwaway primary with `standbys` standbys (default 1).
 */
export function provideReplicaPair(
  options: { env?: NodeJS.ProcessEnv; standbys?: number } = {},
): Promise<ReplicaPair> {
  const env = options.env ?? process.env;
  return env.TEST_REPLICA_URL ? fromEnv(env) : throwaway(env, options.standbys ?? 1);
}
