/**
 * SQLite through better-sqlite3: one synchronous connection shared by the whole process.
 *
 * Every statement goes through one gate that knows, by async context, which transaction (if
 * any) issued it: the transaction that holds the connection runs at once; anything else waits
 * for the connection to be released. So two concurrent transactions never interleave, and code
 * outside a transaction never lands inside someone else's. A repository call outside a
 * transaction is one prepared statement run at once in autocommit mode: no BEGIN, no promise
 * chain beyond the one it returns.
 *
 * Another process holding the write lock makes better-sqlite3 fail at once (`busy_timeout` is
 * 0): the gate then retries on a timer until a deadline, so the event loop never blocks, and ends
 * in a retryable `DatabaseBusyError`.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import BetterSqlite3 from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { getTableName, sql } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import type { Actor } from './actor.ts';
import type { Database, DrizzleHandle, Executor, UnitMode } from './database.ts';
import { pickTable } from './database.ts';
import { ContextStorage } from './engine/context-storage.ts';
import { schemaInfo } from './engine/schema-info.ts';
import { TxScope } from './engine/scope.ts';
import {
  bulkChunks,
  type CallContext,
  type Compiled,
  compile,
  fill,
  mapRows,
  type Statement,
  shape,
} from './engine/statement.ts';
import {
  ConfigurationError,
  DatabaseBusyError,
  mapDatabaseError,
  PermissionError,
  QueryError,
  TransactionStateError,
} from './errors.ts';
import type { AnyTable } from './kit/table.ts';

export interface SqliteOptions {
  /** Milliseconds a writer waits for another connection's lock before `DatabaseBusyError`. */
  busyTimeoutMs?: number;
  /**
   * Create the file's directory when it is missing (the migrations CLI, which creates
   * databases). Otherwise a missing directory is a `ConfigurationError`: a mistyped path must
   * not become a new, empty database.
   */
  createDirectory?: boolean;
}

interface Holder {
  depth: number;
  done: boolean;
}

type Method = 'run' | 'all' | 'values' | 'get';

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED');
}

class SqliteConnection {
  readonly client: BetterSqlite3.Database;
  readonly context = new ContextStorage<Holder>();
  readonly busyTimeoutMs: number;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private owner: Holder | undefined;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(filename: string, options: SqliteOptions) {
    if (filename !== ':memory:' && options.createDirectory) {
      mkdirSync(dirname(filename), { recursive: true });
    }
    this.client = new BetterSqlite3(filename);
    if (filename !== ':memory:') this.client.pragma('journal_mode = WAL');
    this.client.pragma('foreign_keys = ON');
    // Waiting for another connection's lock happens on a timer here, never inside SQLite.
    this.client.pragma('busy_timeout = 0');
    this.client.pragma('synchronous = NORMAL');
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  }

  get isFree(): boolean {
    return !this.owner && !this.closed;
  }

  acquire(holder: Holder): Promise<void> | undefined {
    if (this.closed) throw new TransactionStateError('The SQLite database is closed');
    if (!this.owner) {
      this.owner = holder;
      return undefined;
    }
    return new Promise((resolve) => {
      this.waiting.push(() => {
        this.owner = holder;
        resolve();
      });
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.owner = undefined;
  }

  /** True when the running async context holds the connection in a transaction. */
  holdsConnection(): Holder | undefined {
    const holder = this.context.getStore();
    return holder && !holder.done && holder === this.owner ? holder : undefined;
  }

  /**
   * Runs `work` on the connection: at once when no transaction holds it or when the caller's
   * own transaction does; otherwise after that transaction ends, as a unit of one statement.
   * A busy database is retried on a timer until the deadline.
   */
  gate<T>(work: () => T): T | Promise<T> {
    if (this.closed) throw new TransactionStateError('The SQLite database is closed');
    if (this.holdsConnection()) return work();
    if (!this.owner) {
      try {
        return work();
      } catch (error) {
        if (!isBusy(error)) throw error;
      }
    }
    const single: Holder = { depth: 0, done: false };
    return Promise.resolve(this.acquire(single)).then(async () => {
      try {
        return await this.retryBusy(work);
      } finally {
        single.done = true;
        this.release();
      }
    });
  }

  /** `work` again and again while the database is busy, up to the deadline. */
  async retryBusy<T>(work: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let wait = 1;
    for (;;) {
      if (this.closed) throw new TransactionStateError('The SQLite database is closed');
      try {
        return work();
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (Date.now() + wait > deadline) {
          throw new DatabaseBusyError(
            `The SQLite database stayed locked by another connection for ${this.busyTimeoutMs} ms`,
          );
        }
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 50);
    }
  }

  /** The driver callback of drizzle's sqlite-proxy (the raw Drizzle handle). */
  readonly run = (sqlText: string, params: unknown[], method: Method): Promise<{ rows: any }> => {
    try {
      return Promise.resolve(this.gate(() => this.exec(sqlText, params, method)));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  statement(sqlText: string): BetterSqlite3.Statement {
    let stmt = this.statements.get(sqlText);
    if (!stmt) {
      stmt = this.client.prepare(sqlText);
      // Rows are mapped from arrays: put readers in raw mode once, not on every call.
      if (stmt.reader) stmt.raw(true);
      this.statements.set(sqlText, stmt);
    }
    return stmt;
  }

  exec(sqlText: string, params: unknown[], method: Method): { rows: any } {
    if (this.closed) throw new TransactionStateError('The SQLite database is closed');
    const stmt = this.statement(sqlText);
    if (!stmt.reader) return { rows: stmt.run(...params) };
    if (method === 'get') return { rows: stmt.get(...params) };
    return { rows: stmt.all(...params) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let transactions in flight finish first.
    const closer: Holder = { depth: 0, done: false };
    await this.acquire(closer);
    this.closed = true;
    this.statements.clear();
    this.client.close();
    this.release();
  }
}

export function openSqlite(
  filename: string,
  safeUrl: string,
  options: SqliteOptions = {},
  tables: readonly AnyTable[] = [],
): Database {
  const conn = new SqliteConnection(filename, options);
  const rawDb = drizzle(conn.run) as unknown as DrizzleHandle;
  const dialect = new SQLiteAsyncDialect();
  const schema = schemaInfo(tables);
  const key = {};

  const compiled = (stmt: Statement<never, unknown>): Compiled => {
    const s = stmt as unknown as Statement<Record<string, unknown>, unknown>;
    let c = s.compiled.get(key);
    if (!c) {
      c = compile(s, 'sqlite', rawDb, schema);
      s.compiled.set(key, c);
    }
    return c;
  };

  // The membership check of a user who names an organization (Postgres does it in
  // exora_set_actor): the name must be their organization in the membership table.
  let membershipSql: string | undefined;
  if (schema.membership) {
    const m = schema.membership;
    const t = m.table.sqlite as unknown as Record<string, { name: string }>;
    membershipSql = `select "${t[m.organizationKey]!.name}" from "${getTableName(m.table.sqlite)}" where "${t[m.userKey]!.name}" = ?`;
  }
  const checkMembership = (actor: Actor) => {
    if (actor.kind !== 'user' || !actor.organizationId) return;
    const row = membershipSql
      ? (conn.statement(membershipSql).get(actor.userId) as unknown[] | undefined)
      : undefined;
    if (row?.[0] !== actor.organizationId) {
      throw new PermissionError('The acting user is not a member of the organization');
    }
  };

  /** One compiled statement on the connection, synchronously. */
  const execCompiled = (c: Compiled, values: unknown[]): unknown[][] | number => {
    // Compiled objects belong to this database (see `compiled`): its statement is kept on it.
    let stmt = c.prepared as BetterSqlite3.Statement | undefined;
    if (!stmt) {
      stmt = conn.client.prepare(c.sql);
      if (stmt.reader) stmt.raw(true);
      c.prepared = stmt;
    }
    if (c.kind === 'count') return stmt.run(...values).changes;
    if (!stmt.reader) {
      stmt.run(...values);
      return [];
    }
    // At most one row: step once (an insert ... returning has done all its work by then).
    // Stepping an insert ... returning to its end as well took twice as long (measured).
    if (c.kind === 'maybe' || (c.kind === 'one' && c.singleRow)) {
      const row = stmt.get(...values) as unknown[] | undefined;
      return row === undefined ? [] : [row];
    }
    return stmt.all(...values) as unknown[][];
  };

  const runOnce = (c: Compiled, values: unknown[], params: object, call: CallContext) => {
    checkMembership(call.actor);
    const rows = execCompiled(c, values);
    return shape(
      c,
      typeof rows === 'number' ? rows : mapRows(c, rows, params as Record<string, unknown>, call),
    );
  };

  const execute = async <Row extends Record<string, unknown>>(query: SQL): Promise<Row[]> => {
    const built = dialect.sqlToQuery(query);
    try {
      return await conn.gate(() => {
        const stmt = conn.client.prepare(built.sql);
        if (!stmt.reader) {
          stmt.run(...(built.params as unknown[]));
          return [];
        }
        return stmt.all(...(built.params as unknown[])) as Row[];
      });
    } catch (error) {
      throw mapDatabaseError(error, schema);
    }
  };

  const rethrowMapped = (error: unknown): never => {
    throw mapDatabaseError(error, schema);
  };

  function txExecutor(scope: TxScope): Executor {
    const self: Executor = {
      dialect: 'sqlite',
      schema,
      db: rawDb,
      inTransaction: true,
      table: (t) => pickTable('sqlite', t),
      run: (call, stmt, params) =>
        scope.call(() => {
          scope.admit(call.actor);
          const c = compiled(stmt as never);
          const values = fill(c, 'sqlite', params, call);
          try {
            return runOnce(c, values, params, call) as never;
          } catch (error) {
            throw mapDatabaseError(error, schema);
          }
        }),
      runMany: (call, stmt, rows) =>
        scope.call(() => {
          scope.admit(call.actor);
          const c = compiled(stmt as never);
          const filled = rows.map((params) => fill(c, 'sqlite', params, call));
          let changed = 0;
          try {
            for (const chunk of bulkChunks(c, 'sqlite', filled)) {
              changed += conn.statement(chunk.sql).run(...chunk.values).changes;
            }
          } catch (error) {
            throw mapDatabaseError(error, schema);
          }
          return changed;
        }),
      unit: (call, _mode, fn) =>
        scope.call(() => {
          scope.admit(call.actor);
          return fn(self);
        }),
      transaction: (fn) => savepoint(scope, fn),
      execute: (query) => scope.call(() => execute(query)),
      async setLocal() {
        if (!conn.holdsConnection()) {
          throw new TransactionStateError('setLocal() needs a transaction');
        }
      },
    };
    return self;
  }

  const savepoint = <R>(scope: TxScope, fn: (tx: Executor) => Promise<R>): Promise<R> =>
    scope.call(
      async () => {
        const held = conn.holdsConnection();
        if (!held) throw new TransactionStateError('This transaction has already ended');
        held.depth += 1;
        const name = `exora_sp_${held.depth}`;
        conn.client.exec(`SAVEPOINT ${name}`);
        try {
          const result = await fn(txExecutor(scope));
          conn.client.exec(`RELEASE ${name}`);
          return result;
        } catch (error) {
          conn.client.exec(`ROLLBACK TO ${name}`);
          conn.client.exec(`RELEASE ${name}`);
          throw mapDatabaseError(error, schema);
        } finally {
          held.depth -= 1;
        }
      },
      { savepoint: true },
    );

  async function transaction<R>(
    call: CallContext | undefined,
    mode: UnitMode,
    fn: (tx: Executor) => Promise<R>,
  ): Promise<R> {
    const holder: Holder = { depth: 0, done: false };
    const waiting = conn.acquire(holder);
    if (waiting) await waiting;
    const scope = new TxScope(call?.actor);
    try {
      return await conn.context.run(holder, async () => {
        // A read takes no lock until it reads; a write takes the write lock up front, so it
        // cannot fail half-way on another connection's lock.
        await conn.retryBusy(() =>
          conn.client.exec(mode === 'read' ? 'BEGIN DEFERRED' : 'BEGIN IMMEDIATE'),
        );
        try {
          if (call) checkMembership(call.actor);
          const result = await fn(txExecutor(scope));
          if (scope.failed !== undefined) throw scope.failed;
          scope.ended = true;
          await conn.retryBusy(() => conn.client.exec('COMMIT'));
          return result;
        } catch (error) {
          scope.ended = true;
          if (conn.client.inTransaction) conn.client.exec('ROLLBACK');
          throw mapDatabaseError(error, schema);
        }
      });
    } finally {
      holder.done = true;
      conn.release();
    }
  }

  return {
    dialect: 'sqlite',
    schema,
    db: rawDb,
    inTransaction: false,
    safeUrl,
    table: (t) => pickTable('sqlite', t),
    run(call, stmt, params) {
      // The fast path: no transaction holds the connection, so the statement runs now, in
      // autocommit, and the call costs one settled promise.
      try {
        const c = compiled(stmt as never);
        const values = fill(c, 'sqlite', params, call);
        if (conn.isFree) {
          try {
            return Promise.resolve(runOnce(c, values, params, call) as never);
          } catch (error) {
            // Another process holds the write lock: wait for it below, as the gate does.
            if (!isBusy(error)) throw error;
          }
        }
        const result = conn.gate(() => runOnce(c, values, params, call) as never);
        return result instanceof Promise ? result.catch(rethrowMapped) : Promise.resolve(result);
      } catch (error) {
        return Promise.reject(mapDatabaseError(error, schema));
      }
    },
    runMany: (call, stmt, rows) =>
      rows.length === 0
        ? Promise.resolve(0)
        : transaction(call, 'write', (tx) => tx.runMany(call, stmt, rows)),
    unit: (call, mode, fn) => transaction(call, mode, fn),
    transaction: (fn) => transaction(undefined, 'write', fn),
    execute,
    async setLocal() {
      throw new TransactionStateError('setLocal() needs a transaction');
    },
    async ping() {
      try {
        await execute(sql`select count(*) as n from sqlite_master`);
      } catch (error) {
        const code = error instanceof QueryError ? error.driverCode : undefined;
        if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code === 'SQLITE_CANTOPEN') {
          throw new ConfigurationError(
            `${filename} is not a usable SQLite database (${code}): fix DATABASE_URL`,
          );
        }
        throw error;
      }
    },
    close: () => conn.close(),
  };
}
