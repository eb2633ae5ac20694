/**
 * Reads what a live database actually holds (not what the source says), in one shape for both
 * dialects: the core's tests compare the two dialects with it, and `db:verify` compares a
 * database with the schema.
 */
import { sql } from 'drizzle-orm';
import type { Executor } from './database.ts';

export interface ColumnShape {
  name: string;
  /** The type as the database names it (`uuid`, `timestamp with time zone`, `text`, `integer`). */
  type: string;
  notNull: boolean;
  default: string | null;
}

export interface ForeignKeyShape {
  name: string | null;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
}

export interface IndexShape {
  name: string;
  unique: boolean;
  /** The index's definition as the database prints it. */
  definition: string;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  primaryKey: string[];
  foreignKeys: ForeignKeyShape[];
  /** Unique constraints and unique indexes, as sorted column lists (expressions by definition). */
  uniques: { name: string; columns: string[] }[];
  indexes: IndexShape[];
  checks: { name: string; definition: string }[];
  rlsEnabled: boolean;
  rlsForced: boolean;
  policies: { name: string; command: string; using: string | null; withCheck: string | null }[];
  triggers: string[];
}

export interface SchemaShape {
  tables: Record<string, TableShape>;
  views: string[];
}

const normAction = (a: string) => a.toLowerCase().replace(/_/g, ' ');
/** ` (col)` of a Postgres 15+ `ON DELETE SET NULL (col)`, which nulls only those columns. */
const setNullColumns = (definition: string) => {
  const only = /ON DELETE SET NULL (\([^)]*\))/.exec(definition)?.[1];
  return only ? ` ${only}` : '';
};

export async function introspect(db: Executor): Promise<SchemaShape> {
  return db.dialect === 'postgres' ? introspectPostgres(db) : introspectSqlite(db);
}

async function introspectPostgres(db: Executor): Promise<SchemaShape> {
  const tables = await db.execute<{ name: string; rls: boolean; forced: boolean }>(sql`
    select c.relname as name, c.relrowsecurity as rls, c.relforcerowsecurity as forced
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
      and c.relname not like '\\_\\_%' escape '\\'
    order by c.relname`);
  const columns = await db.execute<{
    table: string;
    name: string;
    type: string;
    udt: string;
    not_null: boolean;
    default: string | null;
  }>(sql`
    select table_name as "table", column_name as name, data_type as type, udt_name as udt,
           is_nullable = 'NO' as not_null, column_default as "default"
    from information_schema.columns where table_schema = current_schema()
    order by table_name, ordinal_position`);
  const constraints = await db.execute<{
    table: string;
    name: string;
    type: string;
    columns: string[];
    ref_table: string | null;
    ref_columns: string[] | null;
    on_delete: string | null;
    definition: string;
  }>(sql`
    select cl.relname as "table", co.conname as name, co.contype as type,
      array(select a.attname from unnest(co.conkey) with ordinality k(n, i)
            join pg_attribute a on a.attrelid = co.conrelid and a.attnum = k.n order by k.i)::text[] as columns,
      rf.relname as ref_table,
      array(select a.attname from unnest(co.confkey) with ordinality k(n, i)
            join pg_attribute a on a.attrelid = co.confrelid and a.attnum = k.n order by k.i)::text[] as ref_columns,
      case co.confdeltype when 'a' then 'no action' when 'r' then 'restrict' when 'c' then 'cascade'
        when 'n' then 'set null' when 'd' then 'set default' end as on_delete,
      pg_get_constraintdef(co.oid) as definition
    from pg_constraint co
    join pg_class cl on cl.oid = co.conrelid
    join pg_namespace n on n.oid = cl.relnamespace
    left join pg_class rf on rf.oid = co.confrelid
    where n.nspname = current_schema()
    order by co.conname`);
  const indexes = await db.execute<{
    table: string;
    name: string;
    unique: boolean;
    definition: string;
    constraint: boolean;
  }>(sql`
    select t.relname as "table", i.relname as name, x.indisunique as unique,
           pg_get_indexdef(i.oid) as definition,
           exists (select 1 from pg_constraint c where c.conindid = i.oid) as "constraint"
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    where n.nspname = current_schema()
    order by i.relname`);
  const policies = await db.execute<{
    table: string;
    name: string;
    cmd: string;
    qual: string | null;
    with_check: string | null;
  }>(sql`
    select tablename as "table", policyname as name, cmd, qual, with_check
    from pg_policies where schemaname = current_schema() order by policyname`);
  const triggers = await db.execute<{ table: string; name: string }>(sql`
    select c.relname as "table", t.tgname as name
    from pg_trigger t join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and not t.tgisinternal order by t.tgname`);
  const views = await db.execute<{ name: string }>(sql`
    select table_name as name from information_schema.views
    where table_schema = current_schema() order by table_name`);

  const out: Record<string, TableShape> = {};
  for (const t of tables) {
    out[t.name] = {
      name: t.name,
      columns: [],
      primaryKey: [],
      foreignKeys: [],
      uniques: [],
      indexes: [],
      checks: [],
      rlsEnabled: t.rls,
      rlsForced: t.forced,
      policies: [],
      triggers: [],
    };
  }
  for (const c of columns) {
    const t = out[c.table];
    if (!t) continue;
    const type =
      c.type === 'ARRAY'
        ? `${c.udt.replace(/^_/, '')}[]`
        : c.type === 'USER-DEFINED'
          ? c.udt
          : c.type;
    t.columns.push({ name: c.name, type, notNull: c.not_null, default: c.default });
  }
  for (const c of constraints) {
    const t = out[c.table];
    if (!t) continue;
    if (c.type === 'p') t.primaryKey = c.columns;
    if (c.type === 'f')
      t.foreignKeys.push({
        name: c.name,
        columns: c.columns,
        refTable: c.ref_table ?? '',
        refColumns: c.ref_columns ?? [],
        onDelete: normAction(c.on_delete ?? 'no action') + setNullColumns(c.definition),
      });
    if (c.type === 'u') t.uniques.push({ name: c.name, columns: [...c.columns].sort() });
    if (c.type === 'c') t.checks.push({ name: c.name, definition: c.definition });
  }
  for (const i of indexes) {
    const t = out[i.table];
    if (!t) continue;
    if (i.constraint) continue; // primary keys and unique constraints are listed above
    t.indexes.push({ name: i.name, unique: i.unique, definition: i.definition });
    if (i.unique) t.uniques.push({ name: i.name, columns: indexColumns(i.definition) });
  }
  for (const p of policies) {
    out[p.table]?.policies.push({
      name: p.name,
      command: p.cmd.toLowerCase(),
      using: p.qual,
      withCheck: p.with_check,
    });
  }
  for (const tr of triggers) out[tr.table]?.triggers.push(tr.name);
  return { tables: out, views: views.map((v) => v.name) };
}

/** `CREATE UNIQUE INDEX x ON t USING btree (a, b)` -> ['a', 'b']; expressions stay whole. */
function indexColumns(definition: string): string[] {
  const m = /\((.*)\)(?:\s+WHERE.*)?$/i.exec(definition);
  if (!m) return [definition];
  const inner = m[1]!;
  if (/[()]/.test(inner)) return [inner.replace(/"/g, '').replace(/\s+/g, '')];
  return inner
    .split(',')
    .map((s) => s.trim().replace(/"/g, '').replace(/`/g, ''))
    .sort();
}

async function introspectSqlite(db: Executor): Promise<SchemaShape> {
  const tables = await db.execute<{ name: string; sql: string }>(sql`
    select name, sql from sqlite_master where type = 'table'
      and name not like 'sqlite\\_%' escape '\\' and name not like '\\_\\_%' escape '\\'
    order by name`);
  const out: Record<string, TableShape> = {};
  for (const t of tables) {
    const cols = await db.execute<{
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }>(sql`select name, type, "notnull", dflt_value, pk from pragma_table_info(${t.name})`);
    const fks = await db.execute<{
      id: number;
      seq: number;
      table: string;
      from: string;
      to: string;
      on_delete: string;
    }>(
      sql`select id, seq, "table", "from", "to", on_delete from pragma_foreign_key_list(${t.name}) order by id, seq`,
    );
    const idx = await db.execute<{ name: string; unique: number; origin: string }>(
      sql`select name, "unique", origin from pragma_index_list(${t.name})`,
    );
    const shape: TableShape = {
      name: t.name,
      columns: cols.map((c) => ({
        name: c.name,
        type: c.type.toLowerCase(),
        notNull: c.notnull === 1 || c.pk > 0,
        default: c.dflt_value,
      })),
      primaryKey: cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      foreignKeys: [],
      uniques: [],
      indexes: [],
      checks: [...t.sql.matchAll(/CONSTRAINT\s+["`]?(\w+)["`]?\s+CHECK\s*\(/gi)].map((m) => ({
        name: m[1]!,
        definition: '',
      })),
      rlsEnabled: false,
      rlsForced: false,
      policies: [],
      triggers: [],
    };
    const byId = new Map<number, ForeignKeyShape>();
    for (const fk of fks) {
      let f = byId.get(fk.id);
      if (!f) {
        f = {
          name: null,
          columns: [],
          refTable: fk.table,
          refColumns: [],
          onDelete: normAction(fk.on_delete),
        };
        byId.set(fk.id, f);
        shape.foreignKeys.push(f);
      }
      f.columns.push(fk.from);
      f.refColumns.push(fk.to);
    }
    for (const i of idx) {
      if (i.origin === 'pk') continue;
      const def = await db.execute<{ sql: string | null }>(
        sql`select sql from sqlite_master where type = 'index' and name = ${i.name}`,
      );
      const definition = def[0]?.sql ?? '';
      const infoCols = await db.execute<{ name: string | null }>(
        sql`select name from pragma_index_info(${i.name}) order by seqno`,
      );
      const columns = infoCols.some((c) => c.name === null)
        ? indexColumns(definition)
        : infoCols.map((c) => c.name!).sort();
      if (i.unique) shape.uniques.push({ name: i.name, columns });
      if (i.origin === 'c')
        shape.indexes.push({ name: i.name, unique: i.unique === 1, definition });
    }
    out[t.name] = shape;
  }
  const triggers = await db.execute<{ name: string; tbl_name: string }>(
    sql`select name, tbl_name from sqlite_master where type = 'trigger' order by name`,
  );
  for (const tr of triggers) out[tr.tbl_name]?.triggers.push(tr.name);
  const views = await db.execute<{ name: string }>(
    sql`select name from sqlite_master where type = 'view' order by name`,
  );
  return { tables: out, views: views.map((v) => v.name) };
}
