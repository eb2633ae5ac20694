/**
 * The SQL that repairs each difference `db:verify` finds, for the human report and the JSON.
 * Objects are re-created from the statements that build the schema from nothing (the same ones
 * verify builds its expected shape with), so a missing index, policy, trigger, function, view,
 * enum or table gets exactly what a migration would have created; unexpected objects get a
 * DROP; changed columns on Postgres an ALTER COLUMN. What SQLite cannot change in place (a
 * column's type, a constraint) gets a note instead of SQL. The statements are printed, never
 * run: read them, then apply them as the migration owner (`psql`, `sqlite3`) or through a
 * custom migration.
 */
import type { Dialect } from '@exora/core';
import { firstLine } from './errors.ts';
import type { Difference } from './verify.ts';

export interface Repair {
  /** Statements that bring this object back to the schema, in order; empty when only a note. */
  sql: string[];
  /** Why there is no statement, or what to mind (data loss). */
  note?: string;
}

const q = (dialect: Dialect, name: string) =>
  dialect === 'postgres' ? `"${name.replaceAll('"', '""')}"` : `\`${name.replaceAll('`', '``')}\``;

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The schema-creating statement that creates the object `name` (any quoting, optional schema). */
function creating(statements: readonly string[], name: string): string | undefined {
  const n = `["\`]?${escapeRe(name)}["\`]?`;
  const create = new RegExp(
    `^CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:UNIQUE\\s+)?(?:TABLE|INDEX|POLICY|TRIGGER|VIEW|FUNCTION|TYPE|EXTENSION)\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(?:["\`]?\\w+["\`]?\\.)?${n}(?=[\\s(]|$)`,
    'i',
  );
  const constraint = new RegExp(`^ALTER\\s+TABLE\\s+\\S+\\s+ADD\\s+CONSTRAINT\\s+${n}\\s`, 'i');
  return statements.find((s) => create.test(s.trim()) || constraint.test(s.trim()));
}

/** A table's own statements: CREATE TABLE, its indexes, constraints, policies, RLS (not triggers). */
function tableStatements(statements: readonly string[], table: string): string[] {
  const t = `["\`]?${escapeRe(table)}["\`]?`;
  const own = new RegExp(
    `^(CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?(?:["\`]?\\w+["\`]?\\.)?${t}[\\s(]|CREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+.*\\sON\\s+(?:ONLY\\s+)?(?:["\`]?\\w+["\`]?\\.)?${t}[\\s(]|CREATE\\s+POLICY\\s+.*\\sON\\s+(?:["\`]?\\w+["\`]?\\.)?${t}\\s|ALTER\\s+TABLE\\s+(?:ONLY\\s+)?(?:["\`]?\\w+["\`]?\\.)?${t}\\s)`,
    'is',
  );
  return statements.filter((s) => own.test(s.trim()));
}

function columnSql(col: { type: string; notNull: boolean; default: string | null }) {
  return `${col.type}${col.notNull ? ' NOT NULL' : ''}${col.default !== null ? ` DEFAULT ${col.default}` : ''}`;
}

function dropSql(dialect: Dialect, d: Difference): string | undefined {
  const name = q(dialect, d.name);
  const table = d.table ? q(dialect, d.table) : '';
  switch (d.object) {
    case 'table':
      return `DROP TABLE ${name};`;
    case 'column':
      return `ALTER TABLE ${table} DROP COLUMN ${name};`;
    case 'index':
      return `DROP INDEX ${name};`;
    case 'trigger':
      return dialect === 'postgres' ? `DROP TRIGGER ${name} ON ${table};` : `DROP TRIGGER ${name};`;
    case 'policy':
      return `DROP POLICY ${name} ON ${table};`;
    case 'view':
      return `DROP VIEW ${name};`;
    case 'function': {
      const [fn = '', args = ')'] = d.name.split('(');
      return `DROP FUNCTION ${q(dialect, fn)}(${args};`;
    }
    case 'enum':
      return `DROP TYPE ${name};`;
    case 'unique':
    case 'check':
    case 'foreign key':
      return dialect === 'postgres' ? `ALTER TABLE ${table} DROP CONSTRAINT ${name};` : undefined;
    default:
      return undefined;
  }
}

const SQLITE_REBUILD =
  'SQLite cannot change this in place: the table must be rebuilt (create the new table, copy ' +
  'the rows, drop the old one, rename), which is what a generated migration does; if the ' +
  'newest migration made it, `pnpm db:rollback` then `pnpm db:push` rebuilds it.';

/** How to repair one difference. `statements` = the statements that create the whole schema. */
export function repairFor(dialect: Dialect, d: Difference, statements: readonly string[]): Repair {
  const table = d.table ? q(dialect, d.table) : '';
  const name = q(dialect, d.name);
  if (d.problem === 'unexpected') {
    const drop = dropSql(dialect, d);
    if (!drop) return { sql: [], note: SQLITE_REBUILD };
    const lossy = d.object === 'table' || d.object === 'column';
    return {
      sql: [drop],
      ...(lossy
        ? { note: `not in the schema: dropping it deletes its data; keep a copy first` }
        : {}),
    };
  }
  if (d.problem === 'missing') {
    if (d.object === 'table') {
      const own = tableStatements(statements, d.name);
      if (own.length > 0) return { sql: own };
    }
    if (d.object === 'column') {
      const col = d.expected as { type: string; notNull: boolean; default: string | null };
      const add = `ALTER TABLE ${table} ADD COLUMN ${name} ${columnSql(col)};`;
      return col.notNull && col.default === null
        ? { sql: [add], note: 'NOT NULL without a default: fails if the table has rows' }
        : { sql: [add] };
    }
    if (d.object === 'extension') return { sql: [`CREATE EXTENSION IF NOT EXISTS ${name};`] };
    const create = creating(statements, d.object === 'function' ? firstLine(d.name, '(') : d.name);
    if (create) return { sql: [ensureSemicolon(create)] };
    const def = (d.expected as { definition?: string } | undefined)?.definition;
    if (def && /^CREATE\s/i.test(def)) return { sql: [ensureSemicolon(def)] };
    if (dialect === 'sqlite') return { sql: [], note: SQLITE_REBUILD };
    return { sql: [], note: 'no single statement: generate a migration that creates it' };
  }
  // different
  if (d.object === 'column') {
    if (dialect === 'sqlite') return { sql: [], note: SQLITE_REBUILD };
    const alter = `ALTER TABLE ${table} ALTER COLUMN ${name}`;
    if (d.property === 'type') {
      return { sql: [`${alter} SET DATA TYPE ${d.expected} USING ${name}::${d.expected};`] };
    }
    if (d.property === 'notNull') {
      return { sql: [`${alter} ${d.expected ? 'SET' : 'DROP'} NOT NULL;`] };
    }
    if (d.property === 'default') {
      return {
        sql: [
          d.expected === null ? `${alter} DROP DEFAULT;` : `${alter} SET DEFAULT ${d.expected};`,
        ],
      };
    }
  }
  if (d.object === 'row level security') {
    const on = d.expected === true;
    return {
      sql: [
        d.property === 'forced'
          ? `ALTER TABLE ${table} ${on ? 'FORCE' : 'NO FORCE'} ROW LEVEL SECURITY;`
          : `ALTER TABLE ${table} ${on ? 'ENABLE' : 'DISABLE'} ROW LEVEL SECURITY;`,
      ],
    };
  }
  if (d.object === 'primary key' || d.object === 'enum') {
    return {
      sql: [],
      note:
        d.object === 'enum'
          ? `add the missing values with ALTER TYPE ${name} ADD VALUE '...'; removing a value needs a new type`
          : dialect === 'sqlite'
            ? SQLITE_REBUILD
            : 'drop and add the primary key constraint (ALTER TABLE ... DROP CONSTRAINT / ADD PRIMARY KEY)',
    };
  }
  const drop = dropSql(dialect, d);
  const create = creating(statements, d.object === 'function' ? firstLine(d.name, '(') : d.name);
  if (d.object === 'function' && create) return { sql: [ensureSemicolon(create)] };
  if (drop && create) return { sql: [drop, ensureSemicolon(create)] };
  return { sql: [], note: dialect === 'sqlite' ? SQLITE_REBUILD : 'no single statement' };
}

function ensureSemicolon(statement: string): string {
  const s = statement.trim();
  return s.endsWith(';') ? s : `${s};`;
}
