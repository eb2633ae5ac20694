/**
 * The test harness: a fresh database per test file on either dialect, with a schema of kit
 * tables created by drizzle-kit's own DDL, and the custom SQL objects the schema exports.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import './provided.ts';
import { connect } from '../src/connect.ts';
import type { Database, Dialect } from '../src/database.ts';
import { createStatements, kitTables, type SchemaModule } from '../src/ddl.ts';
import { actorFunctionSql } from '../src/engine/actor-sql.ts';
import { schemaInfo } from '../src/engine/schema-info.ts';

export { type Pooler, type PoolerOptions, providePooler } from './pgbouncer.ts';
export {
  canConnect,
  freePort,
  type PostgresServer,
  providePostgres,
} from './postgres-server.ts';
export { provideReplicaPair, type ReplicaPair } from './replica-server.ts';
export { type VitestPresetOptions, vitestPreset } from './vitest.js';

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
  options: { sqliteUrl?: string; schema?: SchemaModule[]; adminUrl?: string } = {},
): Promise<TestDatabase> {
  const schema = options.schema ?? [];
  if (dialect === 'sqlite') {
    const url = options.sqliteUrl ?? ':memory:';
    const db = connect(url, { schema });
    return { db, url, dispose: () => db.close() };
  }
  const adminUrl = options.adminUrl ?? inject('pgAdminUrl');
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
  /** `adminUrl`: the server to create it in (default: the run's, from the globalSetup). */
  options: { sqliteUrl?: string; adminUrl?: string } = {},
): Promise<TestDatabase> {
  const test = await createEmptyDatabase(dialect, { ...options, schema });
  const { sql } = await import('drizzle-orm');
  const statements = await createStatements(dialect, ...schema);
  // The engine's actor function (the migrations app installs it with the rest).
  if (dialect === 'postgres')
    statements.push(...actorFunctionSql(schemaInfo(kitTables(...schema))).create);
  statements.push(...customObjectStatements(dialect, schema));
  for (const statement of statements) await test.db.execute(sql.raw(statement));
  return test;
}

interface SqlObjectExport {
  kind: 'sqlObject';
  name: string;
  dependsOn?: readonly string[];
  pg?: { create: string | readonly string[] };
  sqlite?: { create: string | readonly string[] };
}

const isSqlObject = (v: unknown): v is SqlObjectExport =>
  typeof v === 'object' && v !== null && (v as SqlObjectExport).kind === 'sqlObject';

/**
 * The `create` statements of the custom SQL objects the schema modules export (triggers and
 * their functions: the shape the migrations app keeps in the history), dependencies first.
 * The migrations app's built-in objects (`updated_at` triggers, forced row-level security) are
 * not among them.
 */
function customObjectStatements(dialect: Dialect, schema: SchemaModule[]): string[] {
  const objects = new Map<string, SqlObjectExport>();
  for (const mod of schema) {
    for (const value of Object.values(mod)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (isSqlObject(item)) objects.set(item.name, item);
      }
    }
  }
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (o: SqlObjectExport) => {
    if (done.has(o.name)) return;
    done.add(o.name);
    for (const d of o.dependsOn ?? []) {
      const dep = objects.get(d);
      if (dep) visit(dep);
    }
    const create = (dialect === 'postgres' ? o.pg : o.sqlite)?.create;
    if (create !== undefined) out.push(...(typeof create === 'string' ? [create] : create));
  };
  for (const o of objects.values()) visit(o);
  return out;
}
