/**
 * Snapshots and the SQL between two of them, from drizzle-kit's programmatic API plus the custom
 * objects. Never interactive: where drizzle-kit would ask "renamed or created?" (a table or
 * column both removed and added in one diff, which rejects without a terminal), the diff is
 * split in two: first everything removed, then everything added. A rename thus becomes a drop
 * and an add, which the destructive-migration guard stops unless it is marked as intended.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { type Dialect, dialectSchema } from '@exora/core';
import { diffObjects, type ObjectDiff, type SqlObject, schemaObjects } from './objects.ts';
import type { SchemaSource } from './source.ts';

// biome-ignore lint/suspicious/noExplicitAny: drizzle-kit's snapshot JSON, typed by drizzle-kit only as it walks it
type Json = Record<string, any>;

/** The schema after a migration: drizzle-kit's snapshot JSON and the custom objects. */
export interface Snapshot {
  drizzle: Json;
  objects: SqlObject[];
}

const ORIGIN_ID = '00000000-0000-0000-0000-000000000000';

type KitApi = typeof import('drizzle-kit/api');
let api: KitApi | undefined;

/**
 * drizzle-kit's API, loaded through `require`: tsx transforms the 3 MB ESM build on every start
 * (about 2.5 s); the CommonJS build loads in about 0.5 s.
 */
async function kit(): Promise<KitApi> {
  api ??= createRequire(import.meta.url)('drizzle-kit/api') as KitApi;
  return api;
}

/** A stable snapshot id, so regenerating a migration writes the same bytes. */
export function snapshotId(dialect: Dialect, name: string): string {
  const h = createHash('sha256').update(`exora:${dialect}:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export async function emptySnapshot(dialect: Dialect): Promise<Snapshot> {
  const kitApi = await kit();
  const drizzle =
    dialect === 'postgres'
      ? kitApi.generateDrizzleJson({})
      : await kitApi.generateSQLiteDrizzleJson({});
  return { drizzle: { ...drizzle, id: ORIGIN_ID, prevId: ORIGIN_ID }, objects: [] };
}

/** The snapshot of the schema as the source defines it now. */
export async function currentSnapshot(source: SchemaSource, dialect: Dialect): Promise<Snapshot> {
  const kitApi = await kit();
  const schema = dialectSchema(dialect, ...source.modules);
  const drizzle =
    dialect === 'postgres'
      ? kitApi.generateDrizzleJson(schema)
      : await kitApi.generateSQLiteDrizzleJson(schema);
  return { drizzle: drizzle as Json, objects: schemaObjects(source, dialect) };
}

// ---------------------------------------------------------------------------------------------
// drizzle-kit diff, split where it would prompt

const TOP_LEVEL = ['enums', 'schemas', 'sequences', 'roles', 'policies', 'views'] as const;

const keys = (o: Json | undefined) => Object.keys(o ?? {});
const both = (a: string[], b: string[]) => a.length > 0 && b.length > 0;

/** True when drizzle-kit would ask whether something was renamed. */
function isAmbiguous(prev: Json, cur: Json): boolean {
  const pt = keys(prev.tables);
  const ct = keys(cur.tables);
  if (
    both(
      ct.filter((k) => !pt.includes(k)),
      pt.filter((k) => !ct.includes(k)),
    )
  )
    return true;
  for (const k of ct.filter((t) => pt.includes(t))) {
    const p = prev.tables[k];
    const c = cur.tables[k];
    for (const part of ['columns', 'policies'] as const) {
      const pk = keys(p[part]);
      const ck = keys(c[part]);
      if (
        both(
          ck.filter((x) => !pk.includes(x)),
          pk.filter((x) => !ck.includes(x)),
        )
      )
        return true;
    }
  }
  for (const part of TOP_LEVEL) {
    const pk = keys(prev[part]);
    const ck = keys(cur[part]);
    if (
      both(
        ck.filter((x) => !pk.includes(x)),
        pk.filter((x) => !ck.includes(x)),
      )
    )
      return true;
  }
  return false;
}

function mentions(text: unknown, column: string): boolean {
  if (typeof text !== 'string') return false;
  return text === column || text.includes(`"${column}"`) || text.includes(`\`${column}\``);
}

function indexMentions(index: Json, column: string): boolean {
  const cols: unknown[] = index.columns ?? [];
  return (
    cols.some((c) =>
      typeof c === 'string' ? mentions(c, column) : mentions((c as Json).expression, column),
    ) || mentions(index.where, column)
  );
}

/**
 * `prev` with everything `cur` no longer has removed (tables, columns and whatever uses them,
 * policies, enums, views): diffing prev -> it only drops, diffing it -> cur only adds.
 */
function withoutRemoved(prev: Json, cur: Json): Json {
  const inter: Json = structuredClone(prev);
  const droppedTables = new Set<string>();
  const droppedColumns = new Map<string, Set<string>>();
  for (const k of keys(inter.tables)) {
    const t = inter.tables[k];
    const c = cur.tables?.[k];
    if (!c) {
      droppedTables.add(t.name);
      delete inter.tables[k];
      continue;
    }
    const gone = keys(t.columns).filter((col) => !(col in (c.columns ?? {})));
    droppedColumns.set(t.name, new Set(gone));
    for (const col of gone) delete t.columns[col];
  }
  for (const k of keys(inter.tables)) {
    const t = inter.tables[k];
    const c = cur.tables[k];
    const gone = [...(droppedColumns.get(t.name) ?? [])];
    const uses = (test: (col: string) => boolean) => gone.some(test);
    const filter = (part: string, drop: (v: Json, name: string) => boolean) => {
      if (!t[part]) return;
      for (const name of keys(t[part])) if (drop(t[part][name], name)) delete t[part][name];
    };
    filter('indexes', (v) => uses((col) => indexMentions(v, col)));
    filter('compositePrimaryKeys', (v) => uses((col) => (v.columns ?? []).includes(col)));
    filter('uniqueConstraints', (v) => uses((col) => (v.columns ?? []).includes(col)));
    filter('checkConstraints', (v) => uses((col) => mentions(v.value, col)));
    filter('foreignKeys', (v) => {
      const fk = typeof v === 'string' ? {} : v;
      if (uses((col) => (fk.columnsFrom ?? []).includes(col))) return true;
      if (droppedTables.has(fk.tableTo)) return true;
      const goneThere = droppedColumns.get(fk.tableTo);
      return (fk.columnsTo ?? []).some((col: string) => goneThere?.has(col));
    });
    filter(
      'policies',
      (v, name) =>
        !(name in (c.policies ?? {})) ||
        uses((col) => mentions(v.using, col) || mentions(v.withCheck, col)),
    );
  }
  for (const part of TOP_LEVEL) {
    if (!inter[part]) continue;
    for (const name of keys(inter[part]))
      if (!(name in (cur[part] ?? {}))) delete inter[part][name];
  }
  return inter;
}

async function kitDiff(dialect: Dialect, prev: Json, cur: Json): Promise<string[]> {
  const kitApi = await kit();
  return dialect === 'postgres'
    ? kitApi.generateMigration(prev as never, cur as never)
    : kitApi.generateSQLiteMigration(prev as never, cur as never);
}

/**
 * One statement per element: drizzle-kit sometimes returns two joined by a breakpoint line
 * (a changed composite primary key on Postgres) or a nested list.
 */
function splitStatements(raw: readonly unknown[]): string[] {
  return raw.flatMap((s): string[] =>
    Array.isArray(s)
      ? splitStatements(s)
      : String(s)
          .split(/^--> statement-breakpoint[ \t]*$/m)
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
  );
}

/** drizzle-kit's statements from `prev` to `cur`, without ever prompting. */
export async function drizzleStatements(
  dialect: Dialect,
  prev: Json,
  cur: Json,
): Promise<string[]> {
  const run = async (a: Json, b: Json) => splitStatements(await kitDiff(dialect, a, b));
  if (!isAmbiguous(prev, cur)) return run(prev, cur);
  const inter = withoutRemoved(prev, cur);
  const first = await run(prev, inter);
  const second = await run(inter, cur);
  // A table whose policies are all replaced has none in between: drizzle-kit disables row
  // level security in the first half and enables it again in the second. Drop the pair.
  const rls = (verb: string) => new RegExp(`^ALTER TABLE "([^"]+)" ${verb} ROW LEVEL SECURITY;$`);
  const enabledAgain = new Set(second.flatMap((s) => rls('ENABLE').exec(s)?.[1] ?? []));
  const disabled = new Set(
    first.flatMap((s) => {
      const t = rls('DISABLE').exec(s)?.[1];
      return t && enabledAgain.has(t) ? [t] : [];
    }),
  );
  return [
    ...first.filter((s) => !disabled.has(rls('DISABLE').exec(s)?.[1] ?? '')),
    ...second.filter((s) => !disabled.has(rls('ENABLE').exec(s)?.[1] ?? '')),
  ];
}

// ---------------------------------------------------------------------------------------------

const NAME = '[`"]([^`"]+)[`"]';

/** Tables SQLite rebuilds in these statements (drizzle-kit's `__new_<table>` copy). */
function rebuiltTables(statements: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const s of statements) {
    const m = new RegExp(`^CREATE TABLE ${NAME}`, 'i').exec(s);
    if (m?.[1]?.startsWith('__new_')) out.add(m[1].slice('__new_'.length));
  }
  return out;
}

/** Tables these statements alter, drop or rebuild. */
function touchedTables(statements: readonly string[]): Set<string> {
  const out = rebuiltTables(statements);
  for (const s of statements) {
    const m = new RegExp(`^(?:ALTER|DROP) TABLE (?:IF EXISTS )?(?:"public"\\.)?${NAME}`, 'i').exec(
      s,
    );
    if (m?.[1]) out.add(m[1]);
  }
  return out;
}

/**
 * The same statements with the `DROP TABLE` of a table that references itself moved before the
 * drops of the tables it references (drizzle-kit drops in name order). SQLite cannot drop such a
 * table once one of its parents is gone: the drop deletes its rows, and the cascade within the
 * table checks every foreign key of it. Other drops keep their order.
 */
function selfReferencingDroppedFirst(statements: string[], prev: Snapshot): string[] {
  const slots: number[] = [];
  const dropped: string[] = [];
  statements.forEach((s, i) => {
    const m = new RegExp(`^DROP TABLE (?:IF EXISTS )?(?:"public"\\.)?${NAME}`, 'i').exec(s);
    if (m?.[1] && !m[1].startsWith('__')) {
      slots.push(i);
      dropped.push(m[1]);
    }
  });
  if (dropped.length < 2) return statements;
  const parents = new Map<string, Set<string>>();
  for (const t of Object.values(prev.drizzle.tables ?? {}) as Json[]) {
    const to = new Set<string>();
    for (const fk of Object.values((t.foreignKeys ?? {}) as Record<string, Json | string>)) {
      const target = typeof fk === 'string' ? fk.split(';')[2] : (fk.tableTo as string);
      if (target) to.add(target);
    }
    if (to.delete(t.name as string)) parents.set(t.name as string, to);
  }
  const order: number[] = [];
  const done = new Set<number>();
  const visit = (k: number, path: Set<number>) => {
    if (done.has(k) || path.has(k)) return;
    path.add(k);
    // Every dropped self-referencing table that references this one goes first.
    dropped.forEach((child, j) => {
      if (parents.get(child)?.has(dropped[k] as string)) visit(j, path);
    });
    done.add(k);
    order.push(k);
  };
  for (let k = 0; k < dropped.length; k++) visit(k, new Set());
  const out = [...statements];
  order.forEach((k, n) => {
    out[slots[n] as number] = statements[slots[k] as number] as string;
  });
  return out;
}

/**
 * Postgres: a foreign key needs the unique constraint it references, and that constraint cannot
 * be dropped while the key is there; drizzle-kit adds keys before unique constraints and drops
 * constraints in name order. Within the slots the constraint statements occupy, they go in this
 * order: foreign keys dropped (named by `prev`), other constraints dropped, unique constraints
 * added, foreign keys added. Every other statement keeps its place.
 */
function constraintsInDependencyOrder(statements: string[], prev: Snapshot): string[] {
  const foreignKeys = new Set<string>();
  for (const t of Object.values(prev.drizzle.tables ?? {}) as Json[]) {
    for (const name of keys(t.foreignKeys)) foreignKeys.add(name);
  }
  const rank = (s: string): number | undefined => {
    const drop = /^ALTER TABLE .+ DROP CONSTRAINT "([^"]+)";$/.exec(s);
    if (drop?.[1]) return foreignKeys.has(drop[1]) ? 0 : 1;
    if (/^ALTER TABLE .+ ADD CONSTRAINT "[^"]+" UNIQUE/.test(s)) return 2;
    if (/^ALTER TABLE .+ ADD CONSTRAINT "[^"]+" FOREIGN KEY/.test(s)) return 3;
    return undefined;
  };
  const slots: number[] = [];
  const ranked: { s: string; r: number }[] = [];
  statements.forEach((s, i) => {
    const r = rank(s);
    if (r === undefined) return;
    slots.push(i);
    ranked.push({ s, r });
  });
  const out = [...statements];
  ranked
    .sort((a, b) => a.r - b.r)
    .forEach(({ s }, n) => {
      out[slots[n] as number] = s;
    });
  return out;
}

/**
 * drizzle-kit 0.31 copies every column of a rebuilt SQLite table from the old table, including
 * columns added in the same migration, which the old table does not have yet (the migration
 * fails with "no such column"). The copy names only the columns the table had before; the new
 * ones take their defaults.
 */
function copyOnlyExistingColumns(statements: string[], prev: Snapshot): string[] {
  const copy = /^INSERT INTO `__new_([^`]+)`\(([^)]*)\) SELECT (.*) FROM `([^`]+)`;$/s;
  return statements.map((s) => {
    const m = copy.exec(s);
    if (!m || m[1] !== m[4]) return s;
    const table = prev.drizzle.tables?.[m[1] as string] as Json | undefined;
    if (!table) return s;
    const into = (m[2] as string).split(', ');
    const from = (m[3] as string).split(', ');
    if (into.length !== from.length || into.some((column, i) => column !== from[i])) return s;
    const had = (column: string) => JSON.parse(column) in (table.columns ?? {});
    const keep = into.filter(had);
    if (keep.length === into.length) return s;
    const list = keep.join(', ');
    return `INSERT INTO \`__new_${m[1]}\`(${list}) SELECT ${list} FROM \`${m[4]}\`;`;
  });
}

export interface MigrationSql {
  /** drizzle-kit's statements (without the custom objects). */
  drizzle: string[];
  objects: ObjectDiff;
  /** Everything, in order: object drops, drizzle-kit's statements, object creates. */
  statements: string[];
}

export async function migrationSql(
  dialect: Dialect,
  prev: Snapshot,
  cur: Snapshot,
): Promise<MigrationSql> {
  const statements = await drizzleStatements(dialect, prev.drizzle, cur.drizzle);
  const drizzle =
    dialect === 'sqlite'
      ? copyOnlyExistingColumns(selfReferencingDroppedFirst(statements, prev), prev)
      : constraintsInDependencyOrder(statements, prev);
  const objects = diffObjects(
    prev.objects,
    cur.objects,
    touchedTables(drizzle),
    rebuiltTables(drizzle),
  );
  return { drizzle, objects, statements: [...objects.before, ...drizzle, ...objects.after] };
}

export interface MigrationPlan {
  up: MigrationSql;
  down: MigrationSql;
  /** True when up changes nothing. */
  empty: boolean;
}

export async function planMigration(
  dialect: Dialect,
  prev: Snapshot,
  cur: Snapshot,
): Promise<MigrationPlan> {
  const up = await migrationSql(dialect, prev, cur);
  const down = await migrationSql(dialect, cur, prev);
  return { up, down, empty: up.statements.length === 0 };
}

/** A short name for a migration, from what it changes. */
export function describeChange(prev: Snapshot, cur: Snapshot): string {
  const names = (s: Snapshot) =>
    new Map(
      Object.values(s.drizzle.tables ?? {}).map((t) => [(t as Json).name as string, t as Json]),
    );
  const p = names(prev);
  const c = names(cur);
  const created = [...c.keys()].filter((n) => !p.has(n));
  const dropped = [...p.keys()].filter((n) => !c.has(n));
  const altered = [...c.keys()].filter(
    (n) => p.has(n) && JSON.stringify(p.get(n)) !== JSON.stringify(c.get(n)),
  );
  const join = (verb: string, list: string[]) =>
    `${verb}_${list.slice(0, 2).join('_')}${list.length > 2 ? `_and_${list.length - 2}_more` : ''}`;
  if (p.size === 0 && created.length > 0) return 'init';
  if (created.length > 0) return join('create', created);
  if (dropped.length > 0) return join('drop', dropped);
  if (altered.length > 0) return join('alter', altered);
  return 'sql_objects';
}
