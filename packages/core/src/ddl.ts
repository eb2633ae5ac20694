/**
 * DDL for a schema of kit tables, from drizzle-kit's own generator, so tests and the
 * bootstrap push use exactly the SQL `drizzle-kit generate` would write.
 */
import { is } from 'drizzle-orm';
import { isPgEnum, PgTable } from 'drizzle-orm/pg-core';
import type { Dialect } from './database.ts';
import type { AnyTable } from './kit/table.ts';

export type SchemaModule = Record<string, unknown>;

function isKitTable(value: unknown): value is AnyTable {
  return (
    typeof value === 'object' &&
    value !== null &&
    'pg' in value &&
    'sqlite' in value &&
    'meta' in value &&
    is((value as AnyTable).pg, PgTable)
  );
}

/** The kit tables of some schema modules (deduplicated, in definition order). */
export function kitTables(...modules: SchemaModule[]): AnyTable[] {
  const seen = new Set<AnyTable>();
  for (const mod of modules) for (const v of Object.values(mod)) if (isKitTable(v)) seen.add(v);
  return [...seen];
}

/** The Drizzle objects one dialect's tooling needs (tables, and Postgres enum types). */
export function dialectSchema(
  dialect: Dialect,
  ...modules: SchemaModule[]
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const mod of modules) {
    for (const [key, value] of Object.entries(mod)) {
      if (isKitTable(value)) out[key] = dialect === 'postgres' ? value.pg : value.sqlite;
      else if (dialect === 'postgres' && isPgEnum(value)) out[key] = value;
    }
  }
  return out;
}

/** CREATE statements (types, tables, indexes, policies) for a fresh database. */
export async function createStatements(
  dialect: Dialect,
  ...modules: SchemaModule[]
): Promise<string[]> {
  const api = await import('drizzle-kit/api');
  const schema = dialectSchema(dialect, ...modules);
  if (dialect === 'postgres') {
    const empty = api.generateDrizzleJson({});
    const current = api.generateDrizzleJson(schema);
    return api.generateMigration(empty, current);
  }
  const empty = await api.generateSQLiteDrizzleJson({});
  const current = await api.generateSQLiteDrizzleJson(schema);
  return api.generateSQLiteMigration(empty, current);
}
