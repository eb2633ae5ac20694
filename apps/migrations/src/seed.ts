/**
 * `db:seed`: reference rows (agent templates, entity types, ...) from every
 * `ReferenceData` the schema modules export. Each row is inserted with `ON CONFLICT DO NOTHING`
 * and must set its primary key or a unique key, so seeding twice inserts nothing the second
 * time. On Postgres the rows are written as the service context (`app.service = 'on'`), which
 * the reference tables' row-level security policies require for writes.
 */
import { type Database, RLS_SETTINGS } from '@exora/core';
import { getTableName } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import { MigrationError } from './errors.ts';
import type { ReferenceData, SchemaSource } from './source.ts';

interface SeedTableResult {
  table: string;
  rows: number;
  inserted: number;
}

export interface SeedResult {
  tables: SeedTableResult[];
  inserted: number;
  /** Rows offered in all (inserted + already present). */
  rows: number;
}

/** The database column names every row must cover so `ON CONFLICT DO NOTHING` can match it. */
function idempotencyKeys(ref: ReferenceData): string[][] {
  const config = getTableConfig(ref.table.sqlite);
  const keys: string[][] = [];
  const pk = config.columns.filter((c) => c.primary).map((c) => c.name);
  if (pk.length > 0) keys.push(pk);
  for (const p of config.primaryKeys) keys.push(p.columns.map((c) => c.name));
  for (const u of ref.table.meta.uniques) {
    if (u.columns.every((c) => /^[a-z0-9_]+$/.test(c))) keys.push(u.columns);
  }
  return keys;
}

function assertIdempotent(ref: ReferenceData): void {
  const byKey = new Map(ref.table.meta.columns.map((c) => [c.key, c.name]));
  const keys = idempotencyKeys(ref);
  for (const [i, row] of ref.rows.entries()) {
    const set = new Set(
      Object.entries(row as Record<string, unknown>)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k]) => byKey.get(k) ?? k),
    );
    if (!keys.some((key) => key.every((c) => set.has(c)))) {
      throw new MigrationError(
        `Reference row ${i + 1} of ${ref.table.name} sets neither its primary key nor a unique ` +
          'key, so seeding it twice would insert it twice. Give it a fixed id or a unique column.',
      );
    }
  }
}

/** Referenced tables first, so reference rows may point at other reference rows. */
function inForeignKeyOrder(refs: ReferenceData[]): ReferenceData[] {
  const parents = (ref: ReferenceData) =>
    getTableConfig(ref.table.sqlite).foreignKeys.map((fk) =>
      getTableName(fk.reference().foreignTable),
    );
  const out: ReferenceData[] = [];
  const visiting = new Set<ReferenceData>();
  const visit = (ref: ReferenceData) => {
    if (out.includes(ref) || visiting.has(ref)) return;
    visiting.add(ref);
    const names = parents(ref);
    for (const other of refs) if (other !== ref && names.includes(other.table.name)) visit(other);
    out.push(ref);
  };
  for (const ref of refs) visit(ref);
  return out;
}

export async function seed(db: Database, source: SchemaSource): Promise<SeedResult> {
  const refs = inForeignKeyOrder(source.referenceData.filter((r) => r.rows.length > 0));
  for (const ref of refs) assertIdempotent(ref);
  if (refs.length === 0) return { tables: [], inserted: 0, rows: 0 };
  const tables = await db.transaction(async (tx) => {
    await tx.setLocal({ [RLS_SETTINGS.service]: 'on' });
    const out: SeedTableResult[] = [];
    for (const ref of refs) {
      const table = tx.table(ref.table);
      const inserted = await tx.db
        .insert(table)
        // biome-ignore lint/suspicious/noExplicitAny: rows of any reference table; Drizzle types values per table
        .values(ref.rows as any[])
        .onConflictDoNothing()
        .returning();
      out.push({ table: ref.table.name, rows: ref.rows.length, inserted: inserted.length });
    }
    return out;
  });
  return {
    tables,
    inserted: tables.reduce((n, t) => n + t.inserted, 0),
    rows: tables.reduce((n, t) => n + t.rows, 0),
  };
}
