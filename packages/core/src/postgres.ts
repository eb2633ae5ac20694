/**
 * Postgres through postgres.js. Transactions and savepoints are postgres.js `begin` and
 * `savepoint`, which already hold one connection for the transaction's whole life.
 */

import type { SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Database, DrizzleHandle, Executor } from './database.ts';
import { preparedCache } from './database.ts';
import { mapDatabaseError, TransactionStateError } from './errors.ts';

export interface PostgresPoolOptions {
  max: number;
  idleTimeoutSeconds: number;
  connectTimeoutSeconds: number;
  maxLifetimeSeconds: number | undefined;
}

function executor(db: DrizzleHandle, inTransaction: boolean): Executor {
  // Prepared statements live per connection or transaction: one prepared on the pool would
  // run on another connection, outside the transaction that called it.
  const prepared = preparedCache(db);
  return {
    dialect: 'postgres',
    db,
    inTransaction,
    table: (t) => t.pg,
    async transaction(fn) {
      try {
        return await db.transaction((tx) => fn(executor(tx as unknown as DrizzleHandle, true)));
      } catch (error) {
        throw mapDatabaseError(error);
      }
    },
    prepared,
    async execute<Row extends Record<string, unknown>>(query: SQL): Promise<Row[]> {
      try {
        const rows = await db.execute(query);
        return Array.from(rows as unknown as Row[]);
      } catch (error) {
        throw mapDatabaseError(error);
      }
    },
    async setLocal(settings) {
      if (!inTransaction) throw new TransactionStateError('setLocal() needs a transaction');
      const entries = Object.entries(settings);
      if (entries.length === 0) return;
      const calls = sql.join(
        entries.map(([name, value]) => sql`set_config(${name}, ${value}, true)`),
        sql`, `,
      );
      await db.execute(sql`select ${calls}`);
    },
  };
}

export function openPostgres(url: string, safeUrl: string, pool: PostgresPoolOptions): Database {
  const client = postgres(url, {
    max: pool.max,
    idle_timeout: pool.idleTimeoutSeconds,
    connect_timeout: pool.connectTimeoutSeconds,
    ...(pool.maxLifetimeSeconds === undefined ? {} : { max_lifetime: pool.maxLifetimeSeconds }),
    onnotice: () => {},
  });
  const db = drizzle(client) as unknown as DrizzleHandle;
  return {
    ...executor(db, false),
    safeUrl,
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
