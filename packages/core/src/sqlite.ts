/**
 * SQLite through better-sqlite3: one synchronous connection shared by the whole process.
 *
 * Drizzle's own better-sqlite3 transaction cannot take an async callback, and a statement
 * awaited inside one escapes it. Here every statement goes through one function that knows,
 * by AsyncLocalStorage, which transaction (if any) issued it: the transaction that holds the
 * connection runs at once; anything else waits for the connection to be released. So two
 * concurrent transactions never interleave, and code outside a transaction never lands inside
 * someone else's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { SQLiteAsyncDialect } from 'drizzle-orm/sqlite-core';
import { drizzle } from 'drizzle-orm/sqlite-proxy';
import type { Database, DrizzleHandle, Executor } from './database.ts';
import { pickTable, preparedCache } from './database.ts';
import { mapDatabaseError, TransactionStateError } from './errors.ts';

export interface SqliteOptions {
  /** Milliseconds a writer waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

interface Holder {
  depth: number;
  done: boolean;
}

type Method = 'run' | 'all' | 'values' | 'get';

class SqliteConnection {
  readonly client: BetterSqlite3.Database;
  readonly context = new AsyncLocalStorage<Holder>();
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private owner: Holder | undefined;
  private readonly waiting: (() => void)[] = [];
  private closed = false;

  constructor(filename: string, options: SqliteOptions) {
    if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
    this.client = new BetterSqlite3(filename);
    if (filename !== ':memory:') this.client.pragma('journal_mode = WAL');
    this.client.pragma('foreign_keys = ON');
    this.client.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    this.client.pragma('synchronous = NORMAL');
  }

  acquire(holder: Holder): Promise<void> | void {
    if (this.closed) throw new TransactionStateError('The SQLite database is closed');
    if (!this.owner) {
      this.owner = holder;
      return;
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
   */
  gate<T>(work: () => T): T | Promise<T> {
    if (!this.owner || this.holdsConnection()) return work();
    const single: Holder = { depth: 0, done: false };
    return Promise.resolve(this.acquire(single)).then(() => {
      try {
        return work();
      } finally {
        single.done = true;
        this.release();
      }
    });
  }

  /** The driver callback of drizzle's sqlite-proxy. */
  readonly run = (sqlText: string, params: unknown[], method: Method): Promise<{ rows: any }> => {
    try {
      return Promise.resolve(this.gate(() => this.exec(sqlText, params, method)));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  exec(sqlText: string, params: unknown[], method: Method): { rows: any } {
    if (this.closed) throw new TransactionStateError('The SQLite database is closed');
    let stmt = this.statements.get(sqlText);
    if (!stmt) {
      stmt = this.client.prepare(sqlText);
      // Drizzle maps rows from arrays: put readers in raw mode once, not on every call.
      if (stmt.reader) stmt.raw(true);
      this.statements.set(sqlText, stmt);
    }
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
): Database {
  const conn = new SqliteConnection(filename, options);
  const db = drizzle(conn.run) as unknown as DrizzleHandle;
  const prepared = preparedCache(db);
  const dialect = new SQLiteAsyncDialect();

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
      throw mapDatabaseError(error);
    }
  };

  const transaction = async <R>(fn: (tx: Executor) => Promise<R>): Promise<R> => {
    const held = conn.holdsConnection();
    if (held) {
      held.depth += 1;
      const name = `exora_sp_${held.depth}`;
      conn.client.exec(`SAVEPOINT ${name}`);
      try {
        const result = await fn(txExecutor);
        conn.client.exec(`RELEASE ${name}`);
        return result;
      } catch (error) {
        conn.client.exec(`ROLLBACK TO ${name}`);
        conn.client.exec(`RELEASE ${name}`);
        throw mapDatabaseError(error);
      } finally {
        held.depth -= 1;
      }
    }
    const holder: Holder = { depth: 0, done: false };
    await conn.acquire(holder);
    try {
      return await conn.context.run(holder, async () => {
        conn.client.exec('BEGIN IMMEDIATE');
        try {
          const result = await fn(txExecutor);
          conn.client.exec('COMMIT');
          return result;
        } catch (error) {
          if (conn.client.inTransaction) conn.client.exec('ROLLBACK');
          throw mapDatabaseError(error);
        }
      });
    } finally {
      holder.done = true;
      conn.release();
    }
  };

  const base = {
    dialect: 'sqlite' as const,
    db,
    table: <T extends Parameters<Executor['table']>[0]>(t: T) => pickTable('sqlite', t),
    transaction,
    // One connection: a statement prepared once serves every transaction on it.
    prepared,
    execute,
    async setLocal() {
      if (!conn.holdsConnection()) {
        throw new TransactionStateError('setLocal() needs a transaction');
      }
    },
  };
  const txExecutor: Executor = { ...base, inTransaction: true };
  return {
    ...base,
    inTransaction: false,
    safeUrl,
    close: () => conn.close(),
  };
}
