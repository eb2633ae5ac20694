/**
 * A transaction-mode pooler in front of the test Postgres, for the tests that prove the engine
 * works through one:
 *  1. TEST_POOLER_URL: a PgBouncer (or compatible) in `pool_mode = transaction` whose
 *     `[databases]` has a `*` entry in front of the test server (the harness creates a database
 *     per test file), used as it is;
 *  2. else PgBouncer started from TEST_PGBOUNCER, `pgbouncer` on the PATH or /usr/sbin/pgbouncer,
 *     as a child process on a free port with a generated configuration in a temporary directory
 *     (trust for the client, any role of the server through `auth_user`), stopped and removed by
 *     `stop()`, or at the latest within a second of the process's end, however it ends.
 * Without either it throws, saying how to provide one: the pooler tests are never skipped.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres-server.ts';

export interface Pooler {
  /** Where it came from. */
  source: 'TEST_POOLER_URL' | 'started';
  /**
   * A URL of the test server (any database and role) rewritten to go through the pooler, with
   * `?pooler=transaction` so the engine knows.
   */
  via(directUrl: string): string;
  stop(): Promise<void>;
}

export interface PoolerOptions {
  /** Server connections per database and role (PgBouncer's `default_pool_size`; default 2). */
  poolSize?: number;
  env?: NodeJS.ProcessEnv;
}

/** Seconds a client waits for a server connection before PgBouncer fails its query. */
const QUERY_WAIT_TIMEOUT = 20;
/** Milliseconds PgBouncer has to start listening. */
const START_TIMEOUT = 10_000;

function throughPooler(directUrl: string, host: string, port: string): string {
  const u = new URL(directUrl);
  u.hostname = host;
  u.port = port;
  u.searchParams.set('pooler', 'transaction');
  return u.toString();
}

function findPgbouncer(env: NodeJS.ProcessEnv): string | undefined {
  if (env.TEST_PGBOUNCER) return existsSync(env.TEST_PGBOUNCER) ? env.TEST_PGBOUNCER : undefined;
  const onPath = spawnSync('sh', ['-c', 'command -v pgbouncer'], {
    encoding: 'utf8',
    env: { PATH: env.PATH ?? '' },
  });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  return existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : undefined;
}

/** Resolves once something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The test server's admin URL's host, port, role and password. */
function server(adminUrl: string) {
  const u = new URL(adminUrl);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port || '5432',
    user: decodeURIComponent(u.username || 'postgres'),
    password: decodeURIComponent(u.password),
  };
}

const quoted = (s: string) => `"${s.replaceAll('"', '""')}"`;

async function startPgbouncer(bin: string, adminUrl: string, poolSize: number): Promise<Pooler> {
  const target = server(adminUrl);
  const dir = mkdtempSync(join(tmpdir(), 'exora-pgbouncer-'));
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'users.txt');
  writeFileSync(
    ini,
    [
      '[databases]',
      // Every database of the server, under its own name: test files create theirs.
      `* = host=${target.host} port=${target.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'max_client_conn = 1000',
      `query_wait_timeout = ${QUERY_WAIT_TIMEOUT}`,
      // Clients are trusted; a role is known when the admin role finds it on the server.
      'auth_type = trust',
      `auth_file = ${users}`,
      `auth_user = ${target.user}`,
      '',
    ].join('\n'),
  );
  writeFileSync(users, `${quoted(target.user)} ${quoted(target.password)}\n`);
  // PgBouncer refuses to run as root: as root, it runs as the postgres system user.
  const args = [ini];
  if (process.getuid?.() === 0) {
    const user =
      spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).status === 0
        ? 'postgres'
        : 'nobody';
    const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
    for (const path of [dir, ini, users]) chownSync(path, uid, gid);
    chmodSync(users, 0o600);
    args.unshift('-u', user);
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  // A process killed outside Node's control (a test worker ended after a hook's timeout) emits
  // no 'exit': a watchdog stops PgBouncer and removes its directory within a second of it.
  const watchdog = spawn(
    'sh',
    [
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -TERM ${child.pid}; rm -rf '${dir}'`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();
  const stop = async () => {
    process.removeListener('exit', kill);
    watchdog.kill('SIGKILL');
    child.kill('SIGTERM');
    if (!(await exited(child, 5_000))) {
      child.kill('SIGKILL');
      await exited(child, 5_000);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`PgBouncer (${bin}) did not start on 127.0.0.1:${port}:\n${log}`);
    }
    if (await listening(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    source: 'started',
    via: (directUrl) => throughPooler(directUrl, '127.0.0.1', String(port)),
    stop,
  };
}

/** A transaction-mode pooler in front of the server of `adminUrl` (see the top of the file). */
export async function providePooler(
  adminUrl: string,
  options: PoolerOptions = {},
): Promise<Pooler> {
  const env = options.env ?? process.env;
  if (env.TEST_POOLER_URL) {
    const u = new URL(env.TEST_POOLER_URL);
    return {
      source: 'TEST_POOLER_URL',
      via: (directUrl) => throughPooler(directUrl, u.hostname, u.port || '6432'),
      stop: async () => {},
    };
  }
  const bin = findPgbouncer(env);
  if (!bin) {
    throw new Error(
      [
        'The pooler tests need PgBouncer in front of the test Postgres, and none could be had:',
        '  - TEST_POOLER_URL is not set,',
        '  - no pgbouncer in TEST_PGBOUNCER, on the PATH or at /usr/sbin/pgbouncer.',
        'Install it (Debian: apt-get install pgbouncer; .ci/run does), or set',
        'TEST_POOLER_URL=postgres://host:port to a PgBouncer in pool_mode = transaction whose',
        '[databases] has a "*" entry in front of the test server.',
      ].join('\n'),
    );
  }
  return startPgbouncer(bin, adminUrl, options.poolSize ?? 2);
}
