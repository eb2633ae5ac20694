/**
 * The test harness: a fresh database per test file on either dialect, with a schema of kit
 * tables created by drizzle-kit's own DDL.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import './provided.ts';
import { connect } from '../connect.ts';
import type { Database, Dialect } from '../database.ts';
import { createStatements, kitTables, type SchemaModule } from '../ddl.ts';
import { actorFunctionSql } from '../engine/actor-sql.ts';
import { schemaInfo } from '../engine/schema-info.ts';

export {
  canConnect,
  freePort,
  type PostgresServer,
  providePostgres,
} from './postgres-server.ts';

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface TestDatabase {
  db: Database;
  /** For Postgres: the URL of this file's own database. For SQLite: the file or :memory:. */
  url: string;
  dispose(): Promise<void>;
}

function withDatabase(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database of its own: a new Postgres database, or SQLite `:memory:`. */
export async function createEmptyDatabase(
  dialect: Dialect,
  options: { sqliteUrl?: string; schema?: SchemaModule[] } = {},
): Promise<TestDatabase> {
  const schema = options.schema ?? [];
  if (dialect === 'sqlite') {
    const url = options.sqliteUrl ?? ':memory:';
    const db = connect(url, { schema });
    return { db, url, dispose: () => db.close() };
  }
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error('pgAdminUrl missing: add the core globalSetup to vitest.config');
  const name = `exora_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = withDatabase(adminUrl, name);
  const db = connect(url, { schema });
  return {
    db,
    url,
    async dispose() {
      await db.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 2 });
    },
  };
}

/** A database of its own with the given schema modules' tables created. */
export async function createTestDatabase(
  dialect: Dialect,
  schema: SchemaModule[],
  options: { sqliteUrl?: string } = {},
): Promise<TestDatabase> {
  const test = await createEmptyDatabase(dialect, { ...options, schema });
  const { sql } = await import('drizzle-orm');
  const statements = await createStatements(dialect, ...schema);
  // The engine's actor function (the migrations app installs it with the rest).
  if (dialect === 'postgres')
    statements.push(...actorFunctionSql(schemaInfo(kitTables(...schema))).create);
  for (const statement of statements) await test.db.execute(sql.raw(statement));
  return test;
}
