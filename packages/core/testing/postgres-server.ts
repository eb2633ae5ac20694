/**
 * Finds a Postgres server for the tests, in this order:
 *  1. TEST_DATABASE_URL (an admin URL: the harness creates one database per test file in it);
 *  2. a server answering on 127.0.0.1:5432 (trust auth, as on the development machines);
 *  3. a throwaway server started from the Postgres binaries on the PATH or in
 *     /usr/lib/postgresql/<version>/bin, in a temporary directory, removed afterwards.
 * If none can be had it throws, saying how to provide one: Postgres is never skipped.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { redactUrl } from '../src/connect.ts';

export interface PostgresServer {
  adminUrl: string;
  source: 'TEST_DATABASE_URL' | 'local' | 'throwaway';
  stop(): Promise<void>;
}

const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export async function canConnect(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

interface SearchOptions {
  /** Where Debian installs server versions (default /usr/lib/postgresql). */
  libRoot?: string;
}

export function findPgBin(
  name: string,
  env: NodeJS.ProcessEnv,
  options: SearchOptions,
): string | undefined {
  const fromEnv = env.TEST_PG_BIN_DIR;
  if (fromEnv && existsSync(join(fromEnv, name))) return join(fromEnv, name);
  const onPath = spawnSync('sh', ['-c', `command -v ${name}`], {
    encoding: 'utf8',
    env: { PATH: env.PATH ?? '' },
  });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  const root = options.libRoot ?? '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Runs a command (as `asUser` when given), throwing its output when it fails. */
export function runCommand(cmd: string, args: string[], asUser: string | undefined) {
  const full = asUser ? ['runuser', ['-u', asUser, '--', cmd, ...args]] : [cmd, args];
  const res = spawnSync(full[0] as string, full[1] as string[], { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${res.stdout}\n${res.stderr}`);
  }
}

async function startThrowaway(
  env: NodeJS.ProcessEnv,
  options: SearchOptions,
): Promise<PostgresServer | undefined> {
  const initdb = findPgBin('initdb', env, options);
  const pgCtl = findPgBin('pg_ctl', env, options);
  if (!initdb || !pgCtl) return undefined;
  // initdb refuses to run as root; run the server as the postgres system user then.
  const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'exora-pg-'));
  if (asUser) {
    const id = spawnSync('id', ['-u', asUser], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', asUser], { encoding: 'utf8' });
    if (id.status !== 0) return undefined;
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  runCommand(
    initdb,
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'],
    asUser,
  );
  runCommand(
    pgCtl,
    [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      'start',
    ],
    asUser,
  );
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    source: 'throwaway',
    async stop() {
      try {
        runCommand(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop'], asUser);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export async function providePostgres(
  env: NodeJS.ProcessEnv = process.env,
  options: SearchOptions = {},
): Promise<PostgresServer> {
  const noop = async () => {};
  if (env.TEST_DATABASE_URL) {
    if (!(await canConnect(env.TEST_DATABASE_URL))) {
      throw new Error(
        `TEST_DATABASE_URL is set but ${redactUrl(env.TEST_DATABASE_URL)} does not answer`,
      );
    }
    return { adminUrl: env.TEST_DATABASE_URL, source: 'TEST_DATABASE_URL', stop: noop };
  }
  if (env.TEST_POSTGRES_THROWAWAY !== '1' && (await canConnect(LOCAL_POSTGRES_URL))) {
    return { adminUrl: LOCAL_POSTGRES_URL, source: 'local', stop: noop };
  }
  const throwaway = await startThrowaway(env, options);
  if (throwaway) return throwaway;
  throw new Error(
    [
      'The Postgres half of the test suite needs a server, and none could be had:',
      '  - TEST_DATABASE_URL is not set,',
      '  - nothing answers on 127.0.0.1:5432,',
      '  - no initdb/pg_ctl on the PATH, in TEST_PG_BIN_DIR or in /usr/lib/postgresql/*/bin.',
      'Provide one: set TEST_DATABASE_URL=postgres://user@host:port/postgres (a role that may',
      'CREATE DATABASE), or install the server (Debian: apt-get install postgresql).',
    ].join('\n'),
  );
}
