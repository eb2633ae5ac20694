/**
 * `db:verify`: the live database against the schema. The expected shape is built exactly, by
 * creating the schema (drizzle-kit's statements from the empty schema plus every custom object)
 * in a scratch database of the same dialect and introspecting it: SQLite `:memory:`; on
 * Postgres a scratch schema inside a transaction that is rolled back, so nothing is left behind
 * and no CREATE DATABASE privilege is needed. Both are read with the core's `introspect()` plus
 * what it leaves out (trigger, view and function definitions, enum values, extensions, SQLite
 * CHECK expressions), then compared object by object.
 */
import { randomBytes } from 'node:crypto';
import {
  connect,
  type Database,
  type Dialect,
  type Executor,
  introspect,
  type TableShape,
} from '@exora/core';
import { sql } from 'drizzle-orm';
import { remembered } from './cache.ts';
import { type Coverage, coverage, coverageAdvice } from './coverage.ts';
import { currentSnapshot, emptySnapshot, migrationSql } from './diff.ts';
import { applyStatements, runStatements, status } from './migrator.ts';
import { type Repair, repairFor } from './repair.ts';
import type { SchemaSource } from './source.ts';

export interface Shape {
  tables: Record<string, TableShape>;
  /** Trigger name -> its table and definition. */
  triggers: Record<string, { table: string; definition: string }>;
  views: Record<string, string>;
  functions: Record<string, string>;
  enums: Record<string, string[]>;
  extensions: string[];
}

type ObjectKind =
  | 'table'
  | 'column'
  | 'primary key'
  | 'foreign key'
  | 'unique'
  | 'index'
  | 'check'
  | 'trigger'
  | 'row level security'
  | 'policy'
  | 'view'
  | 'function'
  | 'enum'
  | 'extension';

export interface Difference {
  /** The table it belongs to, if any. */
  table?: string;
  object: ObjectKind;
  name: string;
  problem: 'missing' | 'unexpected' | 'different';
  /** For `different`: which property differs. */
  property?: string;
  expected?: unknown;
  actual?: unknown;
  /** The statements that repair it (printed, never run), or a note why there are none. */
  repair?: Repair;
}

export interface VerifyReport {
  ok: boolean;
  dialect: Dialect;
  database: string;
  schema: string;
  expected: { tables: number; indexes: number; triggers: number; policies: number };
  differences: Difference[];
  /** The migration history against the files, when verify was given the migrations folder. */
  migrations?: {
    applied: number;
    pending: string[];
    problems: string[];
    /** drizzle/ does not cover the schema: `coverage.state` is `behind` or `ahead`. */
    stale: boolean;
    coverage: Coverage;
    /** The applied migrations' names. */
    appliedNames: string[];
  };
}

// ---------------------------------------------------------------------------------------------
// reading a database

/** `CONSTRAINT "name" CHECK(<expr>)` clauses of a SQLite CREATE TABLE, with balanced parens. */
function sqliteChecks(createSql: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /CONSTRAINT\s+["`]?(\w+)["`]?\s+CHECK\s*\(/gi;
  for (let m = re.exec(createSql); m; m = re.exec(createSql)) {
    let depth = 1;
    let i = re.lastIndex;
    let quote: string | undefined;
    for (; i < createSql.length && depth > 0; i++) {
      const ch = createSql.charAt(i);
      if (quote) {
        if (ch === quote) quote = undefined;
      } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    out.set(m[1] ?? '', createSql.slice(re.lastIndex, i - 1).trim());
  }
  return out;
}

async function readShape(db: Executor): Promise<Shape> {
  const base = await introspect(db);
  const shape: Shape = {
    tables: base.tables,
    triggers: {},
    views: {},
    functions: {},
    enums: {},
    extensions: [],
  };
  if (db.dialect === 'sqlite') {
    const objects = await db.execute<{ type: string; name: string; tbl_name: string; sql: string }>(
      sql`select type, name, tbl_name, sql from sqlite_master where type in ('table', 'trigger', 'view')`,
    );
    for (const o of objects) {
      if (o.type === 'trigger') shape.triggers[o.name] = { table: o.tbl_name, definition: o.sql };
      if (o.type === 'view') shape.views[o.name] = o.sql;
      const t = shape.tables[o.name];
      if (o.type === 'table' && t) {
        const defs = sqliteChecks(o.sql);
        for (const c of t.checks) c.definition = defs.get(c.name) ?? c.definition;
      }
    }
    return shape;
  }
  const [{ schema } = { schema: 'public' }] = await db.execute<{ schema: string }>(
    sql`select current_schema() as schema`,
  );
  const unqualify = (text: string) =>
    text.replaceAll(`"${schema}".`, '').replaceAll(`${schema}.`, '');
  for (const t of Object.values(shape.tables)) {
    for (const i of t.indexes) i.definition = unqualify(i.definition);
  }
  const triggers = await db.execute<{ table: string; name: string; definition: string }>(sql`
    select c.relname as "table", t.tgname as name, pg_get_triggerdef(t.oid) as definition
    from pg_trigger t join pg_class c on c.oid = t.tgrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and not t.tgisinternal`);
  for (const t of triggers) {
    shape.triggers[t.name] = { table: t.table, definition: unqualify(t.definition) };
  }
  const views = await db.execute<{ name: string; definition: string }>(sql`
    select viewname as name, definition from pg_views where schemaname = current_schema()`);
  for (const v of views) shape.views[v.name] = unqualify(v.definition);
  const functions = await db.execute<{ name: string; definition: string }>(sql`
    select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' as name,
           pg_get_functiondef(p.oid) as definition
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = current_schema() and p.prokind = 'f'
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`);
  for (const f of functions) shape.functions[f.name] = unqualify(f.definition);
  const enums = await db.execute<{ name: string; labels: string[] }>(sql`
    select t.typname as name, array_agg(e.enumlabel order by e.enumsortorder)::text[] as labels
    from pg_type t join pg_enum e on e.enumtypid = t.oid
    join pg_namespace n on n.oid = t.typnamespace
    where n.nspname = current_schema() group by t.typname`);
  for (const e of enums) shape.enums[e.name] = e.labels;
  const extensions = await db.execute<{ name: string }>(
    sql`select extname as name from pg_extension where extname <> 'plpgsql' order by extname`,
  );
  shape.extensions = extensions.map((e) => e.name);
  return shape;
}

/** What the live database holds. */
export async function actualShape(db: Executor): Promise<Shape> {
  return readShape(db);
}

class Rollback extends Error {
  constructor(readonly shape: Shape) {
    super('rollback');
  }
}

/** Every statement that creates the schema from nothing, on one dialect. */
async function createSchemaStatements(source: SchemaSource, dialect: Dialect): Promise<string[]> {
  return remembered('create-schema', [source.label, dialect], async () => {
    const full = await migrationSql(
      dialect,
      await emptySnapshot(dialect),
      await currentSnapshot(source, dialect),
    );
    return full.statements;
  });
}

async function serverVersion(db: Database): Promise<string> {
  const rows = await db.execute<{ v: string }>(
    db.dialect === 'postgres' ? sql`select version() as v` : sql`select sqlite_version() as v`,
  );
  return String(rows[0]?.v);
}

/** The shape the schema gives a fresh database, built in a scratch one and read back. */
export async function expectedShape(
  db: Database,
  source: SchemaSource,
  statements?: readonly string[],
): Promise<Shape> {
  statements ??= await createSchemaStatements(source, db.dialect);
  if (db.dialect === 'sqlite') {
    const scratch = connect(':memory:');
    try {
      await applyStatements(scratch, statements, 'Creating the expected schema');
      return await readShape(scratch);
    } finally {
      await scratch.close();
    }
  }
  const schema = `exora_verify_${randomBytes(6).toString('hex')}`;
  try {
    await db.transaction(async (tx) => {
      await tx.execute(sql.raw(`create schema "${schema}"`));
      await tx.execute(sql.raw(`set local search_path to "${schema}", public`));
      await runStatements(
        tx,
        statements.map((s) => s.replaceAll('"public".', '')),
        'Creating the expected schema',
      );
      throw new Rollback(await readShape(tx));
    });
  } catch (error) {
    if (error instanceof Rollback) return error.shape;
    throw error;
  }
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------
// comparing

function compareNamed<T extends object>(
  out: Difference[],
  object: ObjectKind,
  table: string | undefined,
  expected: Map<string, T>,
  actual: Map<string, T>,
  properties: (keyof T & string)[],
): void {
  for (const [name, e] of expected) {
    const a = actual.get(name);
    if (a === undefined) {
      out.push({ ...(table ? { table } : {}), object, name, problem: 'missing', expected: e });
      continue;
    }
    for (const p of properties) {
      if (JSON.stringify(e[p]) !== JSON.stringify(a[p])) {
        out.push({
          ...(table ? { table } : {}),
          object,
          name,
          problem: 'different',
          property: p,
          expected: e[p],
          actual: a[p],
        });
      }
    }
  }
  for (const [name, a] of actual) {
    if (!expected.has(name)) {
      out.push({ ...(table ? { table } : {}), object, name, problem: 'unexpected', actual: a });
    }
  }
}

const byName = <T extends { name: string }>(items: readonly T[]) =>
  new Map(items.map((i) => [i.name, i]));

function fkKey(f: TableShape['foreignKeys'][number]): string {
  return `(${f.columns.join(', ')}) -> ${f.refTable}(${f.refColumns.join(', ')})`;
}

function compareTable(out: Difference[], e: TableShape, a: TableShape): void {
  const table = e.name;
  compareNamed(out, 'column', table, byName(e.columns), byName(a.columns), [
    'type',
    'notNull',
    'default',
  ]);
  if (JSON.stringify(e.primaryKey) !== JSON.stringify(a.primaryKey)) {
    out.push({
      table,
      object: 'primary key',
      name: `${table} primary key`,
      problem: 'different',
      property: 'columns',
      expected: e.primaryKey,
      actual: a.primaryKey,
    });
  }
  const fks = (list: TableShape['foreignKeys']) =>
    new Map(list.map((f) => [fkKey(f), { name: f.name, onDelete: f.onDelete }]));
  compareNamed(out, 'foreign key', table, fks(e.foreignKeys), fks(a.foreignKeys), [
    'name',
    'onDelete',
  ]);
  compareNamed(out, 'unique', table, byName(e.uniques), byName(a.uniques), ['columns']);
  compareNamed(out, 'index', table, byName(e.indexes), byName(a.indexes), ['unique', 'definition']);
  compareNamed(out, 'check', table, byName(e.checks), byName(a.checks), ['definition']);
  const rls = (t: TableShape) =>
    new Map([['row level security', { enabled: t.rlsEnabled, forced: t.rlsForced }]]);
  compareNamed(out, 'row level security', table, rls(e), rls(a), ['enabled', 'forced']);
  compareNamed(out, 'policy', table, byName(e.policies), byName(a.policies), [
    'command',
    'using',
    'withCheck',
  ]);
}

export function compareShapes(expected: Shape, actual: Shape): Difference[] {
  const out: Difference[] = [];
  for (const [name, e] of Object.entries(expected.tables)) {
    const a = actual.tables[name];
    if (!a) out.push({ table: name, object: 'table', name, problem: 'missing' });
    else compareTable(out, e, a);
  }
  for (const name of Object.keys(actual.tables)) {
    if (!expected.tables[name])
      out.push({ table: name, object: 'table', name, problem: 'unexpected' });
  }
  const entries = <T>(r: Record<string, T>) => new Map(Object.entries(r));
  const triggers = (s: Shape) =>
    new Map(Object.entries(s.triggers).map(([n, t]) => [n, t] as const));
  const trig: Difference[] = [];
  compareNamed(trig, 'trigger', undefined, triggers(expected), triggers(actual), [
    'table',
    'definition',
  ]);
  for (const d of trig) {
    const t = (expected.triggers[d.name] ?? actual.triggers[d.name])?.table ?? '';
    out.push({ table: t, ...d });
  }
  const wrap = (r: Record<string, string>) =>
    new Map(Object.entries(r).map(([n, definition]) => [n, { definition }]));
  compareNamed(out, 'view', undefined, wrap(expected.views), wrap(actual.views), ['definition']);
  compareNamed(out, 'function', undefined, wrap(expected.functions), wrap(actual.functions), [
    'definition',
  ]);
  compareNamed(
    out,
    'enum',
    undefined,
    new Map([...entries(expected.enums)].map(([n, values]) => [n, { values }])),
    new Map([...entries(actual.enums)].map(([n, values]) => [n, { values }])),
    ['values'],
  );
  // Extensions are database-wide and may serve other schemas: only missing ones count.
  for (const x of expected.extensions) {
    if (!actual.extensions.includes(x)) {
      out.push({ object: 'extension', name: x, problem: 'missing' });
    }
  }
  return out;
}

export async function verify(
  db: Database,
  source: SchemaSource,
  migrationsDir?: string,
): Promise<VerifyReport> {
  const statements = await createSchemaStatements(source, db.dialect);
  // Building the expected schema in a scratch one is most of a no-op push on Postgres; the
  // bundled CLI remembers it per code and server version (see cache.ts).
  const expected = await remembered(
    'expected-shape',
    [source.label, db.dialect, await serverVersion(db)],
    () => expectedShape(db, source, statements),
  );
  const actual = await actualShape(db);
  const differences = compareShapes(expected, actual).map((d) => ({
    ...d,
    repair: repairFor(db.dialect, d, statements),
  }));
  const tables = Object.values(expected.tables);
  const migrations = migrationsDir === undefined ? undefined : await status(db, migrationsDir);
  const covered =
    migrationsDir === undefined ? undefined : await coverage(source, migrationsDir, db.dialect);
  return {
    ...(migrations === undefined || covered === undefined
      ? {}
      : {
          migrations: {
            applied: migrations.filter((m) => m.state === 'applied').length,
            pending: migrations.filter((m) => m.state === 'pending').map((m) => m.name),
            problems: migrations
              .filter((m) => !['applied', 'pending'].includes(m.state))
              .map((m) => `${m.name}: ${m.state}`),
            stale: covered.state !== 'current',
            coverage: covered,
            appliedNames: migrations.filter((m) => m.state === 'applied').map((m) => m.name),
          },
        }),
    ok: differences.length === 0,
    dialect: db.dialect,
    database: db.safeUrl,
    schema: source.label,
    expected: {
      tables: tables.length,
      indexes: tables.reduce((n, t) => n + t.indexes.length, 0),
      triggers: Object.keys(expected.triggers).length,
      policies: tables.reduce((n, t) => n + t.policies.length, 0),
    },
    differences,
  };
}

// ---------------------------------------------------------------------------------------------
// the human report

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

export function formatReport(report: VerifyReport): string {
  const head = `verify ${report.dialect} ${report.database} against ${report.schema}`;
  const e = report.expected;
  const m = report.migrations;
  const notes: string[] = [];
  if (m && m.pending.length > 0) {
    notes.push(
      `${m.pending.length} migration(s) not applied: ${m.pending.join(', ')}; run pnpm db:migrate or pnpm db:push`,
    );
  }
  if (m && m.problems.length > 0) notes.push(`migration history: ${m.problems.join(', ')}`);
  if (m?.stale) {
    const c = m.coverage;
    notes.push(
      `STALE: ${coverageAdvice(
        c,
        c.ahead.filter((n) => m.appliedNames.includes(n)),
      )}`,
    );
  }
  const indent = (text: string, prefix: string) =>
    text
      .split('\n')
      .map((l) => `${prefix}${l}`)
      .join('\n');
  if (report.ok) {
    return [
      head,
      `OK: the database matches the schema (${e.tables} tables, ${e.indexes} indexes, ${e.triggers} triggers, ${e.policies} policies)`,
      ...notes.map((n) => indent(n, '  ')),
    ].join('\n');
  }
  const lines = [head, `DRIFT: ${report.differences.length} difference(s)`];
  for (const n of notes) lines.push(indent(n, '  '));
  const groups = new Map<string, Difference[]>();
  for (const d of report.differences) {
    const key = d.table ? `table ${d.table}` : 'database';
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  for (const [key, diffs] of groups) {
    lines.push(`  ${key}`);
    for (const d of diffs) {
      if (d.problem === 'different') {
        lines.push(
          `    ~ ${d.object} ${d.name}: ${d.property} is ${show(d.actual)}, expected ${show(d.expected)}`,
        );
      } else if (d.problem === 'missing') {
        lines.push(`    - ${d.object} ${d.name}: missing`);
      } else {
        lines.push(`    + ${d.object} ${d.name}: not in the schema`);
      }
      for (const statement of d.repair?.sql ?? []) lines.push(indent(statement, '        '));
      if (d.repair?.note) lines.push(`        -- ${d.repair.note}`);
    }
  }
  lines.push(
    'The indented SQL repairs each difference: read it, then run it as the migration owner',
    '(psql / sqlite3), or put it in a custom migration (pnpm db:generate --custom).',
  );
  return lines.join('\n');
}
