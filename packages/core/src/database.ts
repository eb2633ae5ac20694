import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { SchemaInfo } from './engine/schema-info.ts';
import type { CallContext, Statement } from './engine/statement.ts';
import type { AnyTable } from './kit/table.ts';
import type { ReplicaSet } from './replicas.ts';

export type Dialect = 'sqlite' | 'postgres';

/**
 * The Drizzle query surface that statements are written against. Drizzle's select, insert
 * (with returning and onConflictDoUpdate), update and delete builders have the same shape on
 * both dialects and the kit gives both tables one row type, so queries are typed against the
 * Postgres builders and run unchanged on SQLite objects.
 */
export type DrizzleHandle = PgDatabase<PgQueryResultHKT, Record<string, never>>;

/** How a unit of several statements uses the database. */
export type UnitMode = 'read' | 'write';

/** A database or a transaction: what every repository function takes (midday's pattern). */
export interface Executor {
  readonly dialect: Dialect;
  /** What the engine knows of the schema this database was opened with. */
  readonly schema: SchemaInfo;
  /** The raw Drizzle handle of this database or transaction: no actor, no row rules. */
  readonly db: DrizzleHandle;
  readonly inTransaction: boolean;
  /** This dialect's Drizzle table for a kit table (typed as the Postgres one: same row types). */
  table<T extends AnyTable>(table: T): T['pg'];
  /**
   * Runs one statement for an actor, as one unit: on Postgres `BEGIN`, the actor's settings,
   * the statement and `COMMIT` are sent together (one round trip); on SQLite it runs at once.
   * Inside a transaction it joins it.
   */
  run<P extends Record<string, unknown>, R>(
    call: CallContext,
    statement: Statement<P, R>,
    params: P,
  ): Promise<R>;
  /**
   * Runs a single-row insert statement (a `statement.count` insert) for many rows: each row's
   * parameters filled (validated, secrets encrypted) before any SQL, then multi-row inserts in
   * chunks, all or nothing; on Postgres in one round trip. Returns the rows inserted.
   */
  runMany<P extends Record<string, unknown>>(
    call: CallContext,
    statement: Statement<P, number>,
    rows: readonly P[],
  ): Promise<number>;
  /**
   * Several statements as one unit for an actor: all or nothing. Inside a transaction it joins
   * it (its failure fails the transaction). Calls made concurrently inside one transaction run
   * one after the other.
   */
  unit<R>(call: CallContext, mode: UnitMode, fn: (tx: Executor) => Promise<R>): Promise<R>;
  /**
   * A raw transaction, without an actor (migrations, tests, raw Drizzle). Inside a transaction
   * it becomes a savepoint: a failure rolls back only the inner work.
   */
  transaction<R>(fn: (tx: Executor) => Promise<R>): Promise<R>;
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
  /**
   * Checks that the database answers: a `ConnectionError` (unreachable) or
   * `ConfigurationError` (no such database or role, wrong password, not a SQLite file) with a
   * one-line message saying where and what to fix, never the driver's error or a password.
   */
  ping(): Promise<void>;
  /** The read replicas it was opened with (Postgres only); undefined without. */
  readonly replicas?: ReplicaSet;
  /** Releases every connection. Waits for transactions in flight on SQLite. */
  close(): Promise<void>;
}

export function pickTable<T extends AnyTable>(dialect: Dialect, table: T): T['pg'] {
  // The one cast of the core: both objects have the same columns and row types.
  return (dialect === 'postgres' ? table.pg : table.sqlite) as T['pg'];
}

/**
 * Runs calls inside one transaction one at a time. A call holds the lock for its whole life;
 * what it runs inside (its own statements, a nested unit) passes through.
 */
export class CallLock {
  private held: object | undefined;
  private readonly waiting: (() => void)[] = [];

  /** Takes the lock for `holder`; resolves at once when free. */
  acquire(holder: object): Promise<void> | undefined {
    if (!this.held) {
      this.held = holder;
      return undefined;
    }
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.held = holder;
        resolve();
      });
    });
  }

  holds(holder: object | undefined): boolean {
    return holder !== undefined && this.held === holder;
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = undefined;
  }
}
