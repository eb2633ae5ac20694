import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.ts';
import { kitTables, type SchemaModule } from './ddl.ts';
import { ConfigurationError } from './errors.ts';
import { openPostgres, type PostgresPoolOptions } from './postgres.ts';
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
}

/** The embedded default: `data/exora.db` at the repository root (or the working directory). */
export function defaultSqlitePath(cwd = process.cwd()): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return join(dir, 'data', 'exora.db');
    const parent = dirname(dir);
    if (parent === dir) return join(resolve(cwd), 'data', 'exora.db');
    dir = parent;
  }
}

/**
 * `DATABASE_URL` if set; else Postgres when seed 000's PGHOST/PGDATABASE are set; else the
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

/** `:memory:`, a path, `file:relative/path.db`, `file:///abs/path.db` or `sqlite:path`. */
export function sqliteFilename(url: string): string {
  if (url === ':memory:' || url === 'file::memory:' || url === 'sqlite::memory:') return ':memory:';
  if (url.startsWith('file://')) return fileURLToPath(url);
  const path = url.replace(/^(file|sqlite):/i, '');
  if (!path) throw new ConfigurationError(`Not a SQLite location: ${url}`);
  return isAbsolute(path) ? path : resolve(path);
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

/** Pool settings: DATABASE_POOL_MAX, DATABASE_IDLE_TIMEOUT, DATABASE_CONNECT_TIMEOUT (seconds). */
export function poolOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PostgresPoolOptions {
  const lifetime = env.DATABASE_MAX_LIFETIME;
  return {
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
 * Opens a database: a `postgres://` URL opens postgres.js (missing parts come from PGHOST,
 * PGPORT, PGUSER, PGPASSWORD, PGDATABASE); anything else is a SQLite file or `:memory:`.
 */
export function connect(
  url: string = resolveDatabaseUrl(),
  options: ConnectOptions = {},
): Database {
  const env = options.env ?? process.env;
  const tables = kitTables(...(options.schema ?? []));
  if (isPostgresUrl(url)) {
    return openPostgres(url, redactUrl(url), poolOptionsFromEnv(env), tables);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new ConfigurationError(
      `Unsupported database URL scheme in ${redactUrl(url)}: use postgres://, file:, a path or :memory:`,
    );
  }
  const filename = sqliteFilename(url);
  return openSqlite(filename, filename, options.sqlite, tables);
}
