/**
 * Postgres through postgres.js.
 *
 * A repository call is one round trip: on a reserved connection, `BEGIN`, `exora_set_actor(...)`
 * (the row-level security settings), the statement and `COMMIT` are written together and
 * postgres.js pipelines them. Every statement is a named prepared statement, which postgres.js
 * keeps per connection, so after its first use on a connection it is only bound and executed.
 *
 * Behind a transaction-mode pooler (`pooler: 'transaction'`) a client connection reaches a
 * different server connection at each transaction, where a statement prepared by an earlier one
 * does not exist: statements are then unnamed, parsed at each call, and sent with their
 * parameter types (learned when postgres.js first describes them), so no describe round trip is
 * needed. And only queries inside a transaction are pipelined: a pooler that does not track the
 * protocol (PgBouncer 1.18, Debian bookworm's) gives the server connection to another client at
 * the first ReadyForQuery outside a transaction, so the answers to a query written behind an
 * autocommit one (or behind a `COMMIT`) reach the wrong client. A call is then one round trip
 * again once its statement is known; the WAL position after a write is a second one.
 * Nothing else of the engine outlives a transaction: the actor's settings are
 * `set_config(..., true)`, savepoints end with their transaction, and there is no LISTEN, session
 * advisory lock, session SET or temporary table.
 */
import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Actor } from './actor.ts';
import type { Database, DrizzleHandle, Executor, UnitMode } from './database.ts';
import { actorArguments, SET_ACTOR_SQL } from './engine/actor-sql.ts';
import { type SchemaInfo, schemaInfo } from './engine/schema-info.ts';
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
  ConnectionError,
  mapDatabaseError,
  TransactionStateError,
} from './errors.ts';
import type { AnyTable } from './kit/table.ts';

/**
 * What sits between the service and Postgres. `transaction`: a pooler that hands out a server
 * connection per transaction (PgBouncer's `pool_mode = transaction`), so nothing may outlive a
 * transaction on a connection. `session` (a server connection per client connection) and `none`
 * need nothing special.
 */
export type PoolerMode = 'none' | 'session' | 'transaction';

export interface PostgresPoolOptions {
  /** `transaction`: no named prepared statements, nothing pipelined. */
  pooler: PoolerMode;
  max: number;
  idleTimeoutSeconds: number;
  connectTimeoutSeconds: number;
  maxLifetimeSeconds: number | undefined;
}

/** postgres.js' `unsafe` runs unnamed statements unless asked; the engine names them. */
const PREPARE = { prepare: true } as const;

/**
 * Told, after a write of an actor committed, where the primary's WAL stood then (`X/Y`): the
 * replica router sends that actor's stale reads to the primary until a replica has replayed it.
 */
export type WriteTracker = (actor: Actor, lsn: string) => void;

/**
 * Sent after `COMMIT` in the same round trip (behind a transaction-mode pooler, after its
 * answer: see the top of this file). The insert position, not `pg_current_wal_lsn()`
 * (what is written out): with `synchronous_commit = off` the commit record may not be written
 * yet, and a replica that replayed past the insert position has replayed the commit.
 */
const WRITE_LSN_SQL = 'select pg_current_wal_insert_lsn()::text as lsn';
const lsnOf = (rows: unknown) => (rows as { lsn: string }[])[0]!.lsn;
type Conn = postgres.Sql | postgres.ReservedSql;

/**
 * Starts a query now (postgres.js queries are lazy: they are sent when first awaited), so
 * queries written one after the other are pipelined in that order.
 */
function start<T>(query: { execute(): unknown }): PromiseLike<T> {
  return query.execute() as unknown as PromiseLike<T>;
}

/**
 * How a database's queries are written. Directly: named prepared statements, pipelined. Behind a
 * transaction-mode pooler: unnamed statements; each parameterised statement is described once
 * (its parameter types, the same on every server connection), then sent with its types, which
 * needs no describe round trip; and only a query inside a transaction lets the next one be
 * written behind it (`pipeline`), never a transaction's last one.
 */
interface Wire {
  /** Options of a query that another of its transaction may follow. */
  options(text: string): postgres.UnsafeQueryOptions;
  /** Options of a transaction's last query (and of anything after it). */
  readonly last: postgres.UnsafeQueryOptions;
  /** The values to send: typed, when the statement's parameter types are known. */
  args(text: string, values: readonly unknown[]): never[];
  /** Keeps the parameter types postgres.js read when it described the statement. */
  learn(text: string, result: unknown): void;
}

const DIRECT: Wire = {
  options: () => PREPARE,
  last: PREPARE,
  args: (_text, values) => values as never[],
  learn: () => {},
};

/** text, text, boolean: `exora_set_actor`'s parameters, known without asking. */
const ACTOR_TYPES = [25, 25, 16];

function pooledWire(client: postgres.Sql): Wire {
  const types = new Map<string, number[]>([[SET_ACTOR_SQL, ACTOR_TYPES]]);
  const typed = { prepare: false, pipeline: true, typed: true } as postgres.UnsafeQueryOptions;
  const untyped = { prepare: false, pipeline: true } as postgres.UnsafeQueryOptions;
  return {
    options: (text) => (types.has(text) ? typed : untyped),
    last: { prepare: false },
    args(text, values) {
      const known = types.get(text);
      if (!known) return values as never[];
      const out = new Array<unknown>(values.length);
      for (let i = 0; i < values.length; i++) out[i] = client.typed(values[i], known[i]!);
      return out as never[];
    },
    learn(text, result) {
      if (types.has(text)) return;
      const learned = (result as { statement?: { types?: number[] } } | null)?.statement?.types;
      if (learned && learned.length > 0 && learned.every((t) => t > 0)) {
        types.set(text, learned.slice());
      }
    },
  };
}

/** Sends the chunks of a bulk insert; the number of rows each inserted. */
function sendChunks(conn: Conn, wire: Wire, chunks: { sql: string; values: unknown[] }[]) {
  return chunks.map((chunk) =>
    start<{ count: number }>(
      conn.unsafe(chunk.sql, wire.args(chunk.sql, chunk.values), wire.options(chunk.sql)),
    ).then((r) => {
      wire.learn(chunk.sql, r);
      return r.count;
    }),
  );
}

const sum = (counts: readonly number[]) => counts.reduce((a, b) => a + b, 0);

/** Sends a compiled statement; rows as arrays, or the changed-row count. */
function send(
  conn: Conn,
  wire: Wire,
  c: Compiled,
  values: unknown[],
): PromiseLike<unknown[][] | number> {
  const q = conn.unsafe(c.sql, wire.args(c.sql, values), wire.options(c.sql));
  if (c.kind === 'count') {
    return start<{ count: number }>(q).then((r) => {
      wire.learn(c.sql, r);
      return r.count;
    });
  }
  return start<unknown[][]>(q.values() as never).then((rows) => {
    wire.learn(c.sql, rows);
    return rows;
  });
}

/** A query another of its transaction may follow. */
const simple = (conn: Conn, wire: Wire, text: string, args: unknown[] = []) =>
  start(conn.unsafe(text, wire.args(text, args), wire.options(text)));

/** A transaction's last query, or one after it: nothing is written behind it. */
const final = (conn: Conn, wire: Wire, text: string) => start(conn.unsafe(text, [], wire.last));

/** Waits for every pipelined query; throws the first failure, mapped. */
async function settle<T extends unknown[]>(
  queries: { [K in keyof T]: PromiseLike<T[K]> },
  schema: SchemaInfo,
): Promise<T> {
  const results = await Promise.allSettled(queries);
  for (const r of results) if (r.status === 'rejected') throw mapDatabaseError(r.reason, schema);
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

/**
 * The URL messages show. When the URL leaves out the host or the database (`postgres://` with
 * PGHOST / PGDATABASE / PGUSER / PGPORT set), the ones postgres.js actually connects to, so
 * `postgres://` alone never hides which server and database a command used. No password.
 */
function effectiveSafeUrl(
  url: string,
  safeUrl: string,
  options: { host?: readonly string[]; port?: readonly number[]; database?: string; user?: string },
): string {
  const rest = url.replace(/^postgres(ql)?:\/\//i, '');
  const authority = rest.split(/[/?]/)[0]!.replace(/^[^@]*@/, '');
  const database = rest.includes('/') ? rest.slice(rest.indexOf('/') + 1).split('?')[0] : '';
  if (authority && database) return safeUrl;
  const hosts = (options.host ?? []).map((h, i) => `${h}:${options.port?.[i] ?? 5432}`);
  return `postgres://${options.user ? `${options.user}@` : ''}${hosts.join(',')}/${options.database ?? ''}`;
}

/** Where a client connects, from its parsed options (URL and PG* variables), without secrets. */
function location(options: postgres.Sql['options']): string {
  const hosts = (options.host as unknown as string[]).map((h, i) => {
    const port =
      (options.port as unknown as number[])[i] ?? (options.port as unknown as number[])[0];
    return h.startsWith('/') ? h : `${h}:${port}`;
  });
  return `Postgres at ${hosts.join(',')}, database "${options.database}", role "${options.user}"`;
}

/** Why a first query failed, as one line that says what to fix (never the driver's error). */
function connectFailure(
  error: unknown,
  options: postgres.Sql['options'],
  schema: SchemaInfo,
): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const where = location(options);
  if (code === '3D000') {
    return new ConfigurationError(
      `${where}: the database does not exist (SQLSTATE 3D000). Create it, or fix the database ` +
        'name in DATABASE_URL or PGDATABASE.',
    );
  }
  if (code === '28000' || code === '28P01') {
    const what =
      code === '28P01' ? 'the password was refused' : 'the role does not exist or may not log in';
    return new ConfigurationError(
      `${where}: ${what} (SQLSTATE ${code}). Fix the user or password in DATABASE_URL or ` +
        'PGUSER/PGPASSWORD.',
    );
  }
  const mapped = mapDatabaseError(error, schema);
  if (mapped instanceof ConnectionError) {
    return new ConnectionError(
      `Cannot reach ${where} (${typeof code === 'string' ? code : 'connection failed'}): is the ` +
        'server running, and are the host and port in DATABASE_URL or PGHOST/PGPORT right?',
    );
  }
  return mapped;
}

export function openPostgres(
  url: string,
  safeUrl: string,
  pool: PostgresPoolOptions,
  tables: readonly AnyTable[] = [],
  onWrite?: WriteTracker,
): Database {
  const client = postgres(url, {
    // Behind a transaction-mode pooler (see the top of this file): no named statements (this
    // overrides every query's own `prepare`, the engine's and Drizzle's), and no query written to
    // a connection before the previous one's answer is in, unless the engine's transaction says
    // so (`pipeline`, a query option of the patched driver).
    ...(pool.pooler === 'transaction' ? { prepare: false, max_pipeline: 0 } : {}),
    max: pool.max,
    idle_timeout: pool.idleTimeoutSeconds,
    connect_timeout: pool.connectTimeoutSeconds,
    ...(pool.maxLifetimeSeconds === undefined ? {} : { max_lifetime: pool.maxLifetimeSeconds }),
    onnotice: () => {},
    // Reconnect soon after a restart or failover: 50 ms doubling to at most 2 s, with jitter
    // (postgres.js' default grows to 20 s after a few failed attempts).
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 2) * (0.5 + Math.random() / 2),
  });
  const shownUrl = effectiveSafeUrl(url, safeUrl, client.options);
  const wire = pool.pooler === 'transaction' ? pooledWire(client) : DIRECT;
  const rawDb = drizzle(client) as unknown as DrizzleHandle;
  const schema = schemaInfo(tables);
  const key = {};

  const compiled = (stmt: Statement<never, unknown>): Compiled => {
    const s = stmt as unknown as Statement<Record<string, unknown>, unknown>;
    let c = s.compiled.get(key);
    if (!c) {
      c = compile(s, 'postgres', rawDb, schema);
      s.compiled.set(key, c);
    }
    return c;
  };

  const finish = (c: Compiled, rows: unknown[][] | number, params: object, call: CallContext) =>
    shape(
      c,
      typeof rows === 'number' ? rows : mapRows(c, rows, params as Record<string, unknown>, call),
    );

  /** Executor over a reserved connection inside a transaction. */
  function txExecutor(conn: postgres.ReservedSql, scope: TxScope, depth: number): Executor {
    /** A raw transaction takes the settings of the first actor that uses it. */
    const adopt = (call: CallContext) =>
      settle([simple(conn, wire, SET_ACTOR_SQL, actorArguments(call.actor))], schema);
    // drizzle() reads the client's parser settings; a reserved connection shares the pool's.
    Object.assign(conn, { options: client.options });
    const db = drizzle(conn as unknown as postgres.Sql) as unknown as DrizzleHandle;
    const self: Executor = {
      dialect: 'postgres',
      schema,
      db,
      inTransaction: true,
      table: (t) => t.pg,
      run: (call, stmt, params) =>
        scope.call(async () => {
          const c = compiled(stmt as never);
          const values = fill(c, 'postgres', params, call);
          try {
            if (scope.admit(call.actor)) await adopt(call);
            return finish(c, await send(conn, wire, c, values), params, call) as never;
          } catch (error) {
            throw mapDatabaseError(error, schema);
          }
        }),
      runMany: (call, stmt, rows) =>
        scope.call(async () => {
          const c = compiled(stmt as never);
          const chunks = bulkChunks(
            c,
            'postgres',
            rows.map((params) => fill(c, 'postgres', params, call)),
          );
          try {
            if (scope.admit(call.actor)) await adopt(call);
            return sum(await settle(sendChunks(conn, wire, chunks), schema));
          } catch (error) {
            throw mapDatabaseError(error, schema);
          }
        }),
      unit: (call, _mode, fn) =>
        scope.call(async () => {
          if (scope.admit(call.actor)) await adopt(call);
          return fn(self);
        }),
      transaction: (fn) =>
        scope.call(
          async () => {
            const name = `exora_sp_${depth + 1}`;
            await conn.unsafe(`savepoint ${name}`);
            try {
              const result = await fn(txExecutor(conn, scope, depth + 1));
              await conn.unsafe(`release savepoint ${name}`);
              return result;
            } catch (error) {
              await conn.unsafe(`rollback to savepoint ${name}`).catch(() => {});
              throw mapDatabaseError(error, schema);
            }
          },
          { savepoint: true },
        ),
      execute: <Row extends Record<string, unknown>>(query: SQL) =>
        scope.call(async () => {
          try {
            return Array.from((await db.execute(query)) as unknown as Row[]);
          } catch (error) {
            throw mapDatabaseError(error, schema);
          }
        }),
      async setLocal(settings) {
        const entries = Object.entries(settings);
        if (entries.length === 0) return;
        const calls = sql.join(
          entries.map(([name, value]) => sql`set_config(${name}, ${value}, true)`),
          sql`, `,
        );
        await self.execute(sql`select ${calls}`);
      },
    };
    return self;
  }

  /**
   * A transaction on a reserved connection: `BEGIN` (and the actor's settings) are pipelined
   * with the first statement of `fn`; a failure anywhere rolls everything back.
   */
  async function transaction<R>(
    call: CallContext | undefined,
    mode: UnitMode,
    fn: (tx: Executor) => Promise<R>,
  ): Promise<R> {
    let conn: postgres.ReservedSql;
    try {
      conn = await client.reserve();
    } catch (error) {
      throw mapDatabaseError(error, schema);
    }
    const scope = new TxScope(call?.actor);
    try {
      const opening: PromiseLike<unknown>[] = [
        simple(conn, wire, mode === 'read' ? 'begin read only' : 'begin'),
      ];
      if (call) opening.push(simple(conn, wire, SET_ACTOR_SQL, actorArguments(call.actor)));
      // Settled below; mark them handled so a failure is reported once, by `settle`.
      for (const p of opening) Promise.resolve(p).catch(() => {});
      let result: R;
      try {
        result = await fn(txExecutor(conn, scope, 0));
        await settle(opening, schema);
      } catch (error) {
        await settle(opening, schema); // a failed BEGIN or actor check is the real cause
        throw error;
      }
      if (scope.failed !== undefined) throw scope.failed;
      scope.ended = true;
      const writer = onWrite && mode === 'write' ? scope.actor : undefined;
      if (writer) {
        const [, lsn] = await settle(
          [final(conn, wire, 'commit'), final(conn, wire, WRITE_LSN_SQL)],
          schema,
        );
        onWrite!(writer, lsnOf(lsn));
      } else {
        await settle([final(conn, wire, 'commit')], schema);
      }
      return result;
    } catch (error) {
      scope.ended = true;
      await conn.unsafe('rollback').catch(() => {});
      throw mapDatabaseError(error, schema);
    } finally {
      conn.release();
    }
  }

  const root: Database = {
    dialect: 'postgres',
    schema,
    db: rawDb,
    inTransaction: false,
    safeUrl: shownUrl,
    table: (t) => t.pg,
    async run(call, stmt, params) {
      const c = compiled(stmt as never);
      const values = fill(c, 'postgres', params, call);
      let conn: postgres.ReservedSql;
      try {
        conn = await client.reserve();
      } catch (error) {
        throw mapDatabaseError(error, schema);
      }
      try {
        const queries: PromiseLike<unknown>[] = [
          simple(conn, wire, c.isReader ? 'begin read only' : 'begin'),
          simple(conn, wire, SET_ACTOR_SQL, actorArguments(call.actor)),
          send(conn, wire, c, values),
          final(conn, wire, 'commit'),
        ];
        const tracked = onWrite !== undefined && !c.isReader;
        if (tracked) queries.push(final(conn, wire, WRITE_LSN_SQL));
        const results = await settle(queries, schema);
        if (tracked) onWrite(call.actor, lsnOf(results[4]));
        return finish(c, results[2] as unknown[][] | number, params, call) as never;
      } finally {
        conn.release();
      }
    },
    async runMany(call, stmt, rows) {
      if (rows.length === 0) return 0;
      const c = compiled(stmt as never);
      const chunks = bulkChunks(
        c,
        'postgres',
        rows.map((params) => fill(c, 'postgres', params, call)),
      );
      let conn: postgres.ReservedSql;
      try {
        conn = await client.reserve();
      } catch (error) {
        throw mapDatabaseError(error, schema);
      }
      try {
        // BEGIN, the actor, every chunk and COMMIT in one round trip. After a failure the
        // transaction is aborted and COMMIT rolls it back: nothing of it stays.
        const queries = [
          simple(conn, wire, 'begin'),
          simple(conn, wire, SET_ACTOR_SQL, actorArguments(call.actor)),
          ...sendChunks(conn, wire, chunks),
          final(conn, wire, 'commit'),
        ];
        if (onWrite) queries.push(final(conn, wire, WRITE_LSN_SQL));
        const results = await settle(queries, schema);
        if (onWrite) onWrite(call.actor, lsnOf(results.at(-1)));
        return sum(results.slice(2, 2 + chunks.length) as number[]);
      } finally {
        conn.release();
      }
    },
    unit: (call, mode, fn) => transaction(call, mode, fn),
    transaction: (fn) => transaction(undefined, 'write', fn),
    async execute<Row extends Record<string, unknown>>(query: SQL): Promise<Row[]> {
      try {
        return Array.from((await rawDb.execute(query)) as unknown as Row[]);
      } catch (error) {
        throw mapDatabaseError(error, schema);
      }
    },
    async setLocal() {
      throw new TransactionStateError('setLocal() needs a transaction');
    },
    async ping() {
      try {
        await client.unsafe('select 1');
      } catch (error) {
        throw connectFailure(error, client.options, schema);
      }
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
  return root;
}
