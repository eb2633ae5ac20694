/**
 * Start-up checks for a service: the database answers (`Database.ping()`), and it has the
 * schema the code was built with: every table and column of the schema modules the database
 * was opened with and, on Postgres, the engine's actor function. The check reads the catalog
 * (`sqlite_master` / `pg_class`, `pg_attribute`, `pg_proc`), which every role may read, so it
 * works as the application role, which has no access to the migration history. A database
 * without any of the tables was never pushed; one with some of them is behind a migration. A
 * migration that changes only functions, triggers or policies is not seen here (the migration
 * history, which `db:status` compares, is closed to the application role).
 */
import { sql } from 'drizzle-orm';
import type { Database } from './database.ts';
import { ACTOR_FUNCTION } from './engine/actor-sql.ts';
import { ConfigurationError, SchemaMismatchError } from './errors.ts';

/** The tables of the current schema (Postgres) or file (SQLite) and their columns. */
async function presentColumns(db: Database): Promise<Map<string, Set<string>>> {
  const rows =
    db.dialect === 'postgres'
      ? await db.execute<{ table: string; column: string | null }>(sql`
          select c.relname as "table", a.attname as "column"
          from pg_catalog.pg_class c
          join pg_catalog.pg_namespace n on n.oid = c.relnamespace
          left join pg_catalog.pg_attribute a
            on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
          where n.nspname = current_schema() and c.relkind in ('r', 'p')`)
      : await db.execute<{ table: string; column: string | null }>(sql`
          select m.name as "table", p.name as "column"
          from sqlite_master m left join pragma_table_info(m.name) p
          where m.type = 'table'`);
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    const columns = out.get(r.table) ?? new Set<string>();
    out.set(r.table, columns);
    if (r.column) columns.add(r.column);
  }
  return out;
}

async function actorFunctionExists(db: Database): Promise<boolean> {
  const [row] = await db.execute<{ present: boolean }>(sql`
    select exists (
      select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where p.proname = ${ACTOR_FUNCTION} and n.nspname = current_schema()) as present`);
  return row?.present === true;
}

/** Tables of the schema the current role may not read (Postgres): `db:roles` was not run. */
async function unreadableTables(db: Database, tables: readonly string[]): Promise<string[]> {
  if (db.dialect !== 'postgres' || tables.length === 0) return [];
  const rows = await db.execute<{ table: string }>(sql`
    select c.relname as "table" from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relkind in ('r', 'p')
      and c.relname in (${sql.join(
        tables.map((t) => sql`${t}`),
        sql`, `,
      )})
      and not has_table_privilege(c.oid, 'SELECT')
    order by c.relname`);
  return rows.map((r) => r.table);
}

const listed = (items: readonly string[], max = 3) =>
  items.length <= max
    ? items.join(', ')
    : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;

/**
 * Throws, with a one-line message saying what to do, unless the database answers and has the
 * schema: `ConnectionError` (unreachable), `ConfigurationError` (unknown database or role, a
 * file that is not a database, missing privileges) or `SchemaMismatchError` (never pushed:
 * run `pnpm db:push`; behind: `pnpm db:push` on SQLite, `pnpm db:migrate` on Postgres).
 */
export async function checkReady(db: Database): Promise<void> {
  await db.ping();
  const expected = db.schema.tables;
  if (expected.length === 0) return;
  const present = await presentColumns(db);
  const missingTables = expected.filter((t) => !present.has(t.name)).map((t) => t.name);
  if (missingTables.length === expected.length) {
    throw new SchemaMismatchError(
      `The database ${db.safeUrl} has none of the schema's tables: it was never pushed. ` +
        'Run `pnpm db:push` with the same DATABASE_URL.',
    );
  }
  const missing = [...missingTables.map((t) => `table ${t}`)];
  for (const t of expected) {
    const columns = present.get(t.name);
    if (!columns) continue;
    for (const c of t.meta.columns) if (!columns.has(c.name)) missing.push(`${t.name}.${c.name}`);
  }
  if (db.dialect === 'postgres' && !(await actorFunctionExists(db))) {
    missing.push(`function ${ACTOR_FUNCTION}`);
  }
  if (missing.length > 0) {
    const command = db.dialect === 'postgres' ? 'pnpm db:migrate' : 'pnpm db:push';
    throw new SchemaMismatchError(
      `The database ${db.safeUrl} is behind the schema (missing ${listed(missing)}): ` +
        `run \`${command}\` with the same DATABASE_URL.`,
    );
  }
  const denied = await unreadableTables(
    db,
    expected.map((t) => t.name),
  );
  if (denied.length > 0) {
    throw new ConfigurationError(
      `The database role of ${db.safeUrl} may not read ${listed(denied)}: grant the ` +
        'application role its privileges with `pnpm db:roles` (EXORA_APP_ROLE names it).',
    );
  }
}
