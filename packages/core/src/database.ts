import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { AnyTable } from './kit/table.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The Drizzle query surface that repositories are written against. Drizzle's select, insert
 * (with returning and onConflictDoUpdate), update and delete builders have the same shape on
 * both dialects and the kit gives both tables one row type, so repositories are typed against
 * the Postgres builders and run unchanged on SQLite objects (CORE.md). Do not call `.execute()`
 * or read driver result metadata (row counts) from it: use `returning()` and `Executor.execute`.
 */
export type DrizzleHandle = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/** A database or a transaction: what every repository function takes (midday's pattern). */
export interface Executor {
  readonly dialect: Dialect;
  /** The Drizzle handle of this database or transaction. */
  readonly db: DrizzleHandle;
  readonly inTransaction: boolean;
  /** This dialect's Drizzle table for a kit table (typed as the Postgres one: same row types). */
  table<T extends AnyTable>(table: T): T['pg'];
  /**
   * All or nothing. Inside a transaction it becomes a savepoint: a failure rolls back only the
   * inner work, and the outer transaction goes on.
   */
  transaction<R>(fn: (tx: Executor) => Promise<R>): Promise<R>;
  /**
   * A statement prepared once per connection or transaction and cached under `key`, so hot
   * paths skip query building, and a statement never runs outside the transaction that uses it.
   */
  prepared<Q>(key: string, build: (db: DrizzleHandle) => Q): Q;
  /** Raw SQL returning rows as objects keyed by column name. */
  execute<Row extends Record<string, unknown>>(query: SQL): Promise<Row[]>;
  /**
   * Transaction-local settings (`set_config(name, value, true)`) that Postgres row-level
   * security policies read. SQLite has no policies: a no-op there. Only inside a transaction.
   */
  setLocal(settings: Readonly<Record<string, string>>): Promise<void>;
}

export interface Database extends Executor {
  /** The URL with any password removed, safe to log. */
  readonly safeUrl: string;
  /** Releases every connection. Waits for transactions in flight on SQLite. */
  close(): Promise<void>;
}

export function pickTable<T extends AnyTable>(dialect: Dialect, table: T): T['pg'] {
  // The one cast of the core: both objects have the same columns and row types.
  return (dialect === 'postgres' ? table.pg : table.sqlite) as T['pg'];
}

/**
 * The value to pass for a `sql.placeholder` compared with `column`: Drizzle fills placeholders
 * without the column's mapping, so a Date must become what this dialect stores (an ISO string
 * for Postgres, milliseconds for SQLite), a boolean 0/1 on SQLite, JSON a string.
 */
export function driverValue(
  column: { mapToDriverValue(value: unknown): unknown },
  value: unknown,
): unknown {
  return column.mapToDriverValue(value);
}

/** `Executor.prepared` over one cache: builds each keyed statement once against `db`. */
export function preparedCache(db: DrizzleHandle): Executor['prepared'] {
  const cache = new Map<string, unknown>();
  return <Q>(key: string, build: (db: DrizzleHandle) => Q): Q => {
    let q = cache.get(key) as Q | undefined;
    if (q === undefined) {
      q = build(db);
      cache.set(key, q);
    }
    return q;
  };
}
