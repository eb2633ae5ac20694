import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';
import { kitTables, type SchemaModule } from './ddl.ts';
import { ConfigurationError } from './errors.ts';
import { openPostgres, type PoolerMode, type PostgresPoolOptions } from './postgres.ts';
import { openReplicated, type ReplicaOptions } from './replicas.ts';
import { openSqlite, type SqliteOptions } from './sqlite.ts';

export interface ConnectOptions {
  /** Environment to read pool settings and PG* variables from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  sqlite?: SqliteOptions;
  /**
   * The schema modules the database is used with: the engine reads from them which columns are
   * secrets, who owns each table and which table says who belongs to an organization.
   */
  schema?: readonly SchemaModule[];
  /**
   * Read replicas of a Postgres primary: stale reads go to them (see `replicas.ts`). A SQLite
   * database with replicas is a `ConfigurationError`.
   */
  replicas?: ReplicaOptions;
}

/**
 * Where relative SQLite paths start: the workspace root, i.e. the nearest directory at or above
 * `cwd` holding `pnpm-workspace.yaml`; outside a pnpm workspace (an installed package in a
 * plain project), `cwd` itself. The CLI and `createDb()` both use it, so `data/exora.db` is one
 * file whether a command runs at the root, in `apps/migrations` (turbo, `pnpm --filter`) or a
 * service starts in `apps/<svc>`.
 */
export function workspaceRoot(cwd = process.cwd()): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(cwd);
    dir = parent;
  }
}

/** The embedded default: `data/exora.db` under the workspace root (see `workspaceRoot`). */
export function defaultSqlitePath(cwd = process.cwd()): string {
  return join(workspaceRoot(cwd), 'data', 'exora.db');
}

/**
 * `DATABASE_URL` if set; else Postgres when the libpq PGHOST/PGDATABASE are set; else the
 * embedded SQLite file.
 */
export function resolveDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DATABASE_URL) return env.DATABASE_URL;
  if (env.PGHOST || env.PGDATABASE) return 'postgres://';
  return defaultSqlitePath();
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** A URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

/**
 * The file of a SQLite location: `:memory:`, a path, `file:relative/path.db`,
 * `file:///abs/path.db` or `sqlite:path`. A relative path is taken from the workspace root
 * (`workspaceRoot(cwd)`), not from the working directory.
 */
export function sqliteFilename(url: string, cwd = process.cwd()): string {
  if (url === ':memory:' || url === 'file::memory:' || url === 'sqlite::memory:') return ':memory:';
  if (url.startsWith('file://')) return fileURLToPath(url);
  const path = url.replace(/^(file|sqlite):/i, '');
  if (!path) throw new ConfigurationError(`Not a SQLite location: ${url}`);
  return isAbsolute(path) ? path : resolve(workspaceRoot(cwd), path);
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigurationError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return n;
}

function poolerMode(raw: string | undefined, where: string): PoolerMode {
  if (raw === undefined || raw === '') return 'none';
  const mode = raw.toLowerCase();
  if (mode === 'none' || mode === 'session' || mode === 'transaction') return mode;
  if (mode === 'statement') {
    throw new ConfigurationError(
      `${where} is "statement": a statement-mode pooler refuses transactions, and every call ` +
        'runs in one. Use pool_mode = transaction and DATABASE_POOLER=transaction.',
    );
  }
  throw new ConfigurationError(`${where} must be transaction, session or none, got "${raw}"`);
}

/**
 * A Postgres URL without its `pooler` query parameter (the server would take it for a setting
 * and refuse the connection), and the mode that parameter names, if any.
 */
export function splitPoolerParameter(url: string): { url: string; pooler: PoolerMode | undefined } {
  const at = url.indexOf('?');
  if (at < 0) return { url, pooler: undefined };
  const hash = url.indexOf('#', at);
  const end = hash < 0 ? url.length : hash;
  const query = new URLSearchParams(url.slice(at + 1, end));
  if (!query.has('pooler')) return { url, pooler: undefined };
  const pooler = poolerMode(query.get('pooler') ?? '', 'The pooler parameter of the database URL');
  query.delete('pooler');
  const rest = query.toString();
  return { url: `${url.slice(0, at)}${rest ? `?${rest}` : ''}${url.slice(end)}`, pooler };
}

/**
 * Pool settings: DATABASE_POOL_MAX, DATABASE_IDLE_TIMEOUT, DATABASE_CONNECT_TIMEOUT,
 * DATABASE_MAX_LIFETIME (seconds) and DATABASE_POOLER.
 */
export function poolOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PostgresPoolOptions {
  const lifetime = env.DATABASE_MAX_LIFETIME;
  return {
    pooler: poolerMode(env.DATABASE_POOLER, 'DATABASE_POOLER'),
    max: intFromEnv(env, 'DATABASE_POOL_MAX', 10, 1),
    idleTimeoutSeconds: intFromEnv(env, 'DATABASE_IDLE_TIMEOUT', 20, 0),
    connectTimeoutSeconds: intFromEnv(env, 'DATABASE_CONNECT_TIMEOUT', 10, 1),
    maxLifetimeSeconds:
      lifetime === undefined || lifetime === ''
        ? undefined
        : intFromEnv(env, 'DATABASE_MAX_LIFETIME', 0, 1),
  };
}

/**
 * Replica settings: DATABASE_REPLICA_URLS (comma-separated `postgres://` URLs),
 * DATABASE_REPLICA_MAX_LAG_MS (default 5000), DATABASE_REPLICA_CHECK_MS (default 250).
 */
export function replicaOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ReplicaOptions {
  return {
    urls: (env.DATABASE_REPLICA_URLS ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== ''),
    maxLagMs: intFromEnv(env, 'DATABASE_REPLICA_MAX_LAG_MS', 5000, 0),
    checkIntervalMs: intFromEnv(env, 'DATABASE_REPLICA_CHECK_MS', 250, 10),
  };
}

/**
 * Opens a database: a `postgres://` URL opens postgres.js (missing parts come from PGHOST,
 * PGPORT, PGUSER, PGPASSWORD, PGDATABASE; `?pooler=transaction` or DATABASE_POOLER says a
 * transaction-mode pooler is in front); anything else is a SQLite file or `:memory:`.
 */
export function connect(
  url: string = resolveDatabaseUrl(),
  options: ConnectOptions = {},
): Database {
  const env = options.env ?? process.env;
  const tables = kitTables(...(options.schema ?? []));
  const replicas = options.replicas;
  if (replicas && replicas.urls.length > 0) {
    if (!isPostgresUrl(url)) {
      throw new ConfigurationError(
        'Read replicas were given (DATABASE_REPLICA_URLS or the replicas option) but the ' +
          'database is SQLite, which has none: remove them, or set DATABASE_URL to the Postgres ' +
          'primary.',
      );
    }
    replicas.urls.forEach((replica, i) => {
      if (!isPostgresUrl(replica)) {
        throw new ConfigurationError(
          `Replica ${i + 1} of ${replicas.urls.length} (DATABASE_REPLICA_URLS or the replicas ` +
            'option) is not a postgres:// URL.',
        );
      }
    });
    // Every server behind the same kind of pooler: the primary's word, else the environment's;
    // a replica's `?pooler=transaction` asks for the settings that work behind either.
    const pool = poolOptionsFromEnv(env);
    const primary = splitPoolerParameter(url);
    const standbys = replicas.urls.map(splitPoolerParameter);
    if (primary.pooler) pool.pooler = primary.pooler;
    if (standbys.some((s) => s.pooler === 'transaction')) pool.pooler = 'transaction';
    const urls = standbys.map((s) => s.url);
    return openReplicated(
      primary.url,
      redactUrl(primary.url),
      pool,
      tables,
      Object.assign({}, replicas, { urls }),
      urls.map(redactUrl),
    );
  }
  if (isPostgresUrl(url)) {
    const pool = poolOptionsFromEnv(env);
    const split = splitPoolerParameter(url);
    if (split.pooler) pool.pooler = split.pooler; // the URL's word wins over the environment's
    return openPostgres(split.url, redactUrl(split.url), pool, tables);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new ConfigurationError(
      `Unsupported database URL scheme in ${redactUrl(url)}: use postgres://, file:, a path or :memory:`,
    );
  }
  const filename = sqliteFilename(url);
  if (filename !== ':memory:' && !options.sqlite?.createDirectory) {
    const dir = dirname(filename);
    if (!existsSync(dir)) {
      throw new ConfigurationError(
        `Cannot open the SQLite database ${filename}: its directory ${dir} does not exist ` +
          '(relative paths start at the workspace root). Fix DATABASE_URL, or create the ' +
          'database with `pnpm db:push`, which creates the directory.',
      );
    }
  }
  try {
    return openSqlite(filename, filename, options.sqlite, tables);
  } catch (error) {
    // Opening reads the file's header (WAL mode): a file that is not a database fails here.
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw error;
    throw new ConfigurationError(
      `Cannot open the SQLite database ${filename} (${code}): is it a SQLite file? Fix DATABASE_URL.`,
    );
  }
}
