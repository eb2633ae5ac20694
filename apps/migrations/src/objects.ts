/**
 * Custom SQL objects: everything drizzle-kit cannot express, kept in the same migration history.
 *
 * Built in, from the kit's table metadata:
 *  - Postgres: one function per touched column name (`exora_touch_updated_at()`, which sets
 *    `NEW.updated_at = now()`) and a `BEFORE UPDATE` trigger `<table>_touch_updated_at` on every
 *    table with `meta.hasUpdatedAt`; `FORCE ROW LEVEL SECURITY` on every table with a policy.
 *  - SQLite: an `AFTER UPDATE` trigger `<table>_touch_updated_at` that stamps the column (integer
 *    ms) when the update left it unchanged; the WHEN guard keeps it from looping.
 * Plus whatever the schema modules export as `SqlObjectSpec` (views, extensions, the
 * statistics triggers, a `last_seen` trigger when its table lands).
 *
 * Each migration stores the objects of its schema in its snapshot; the next one diffs them:
 * removed and changed objects are dropped before drizzle-kit's statements, added and changed
 * ones created after them, in dependency order.
 */
import { ACTOR_FUNCTION, actorFunctionSql, type Dialect, schemaInfo } from '@exora/core';
import { dialectSql, type SchemaSource } from './source.ts';

/** One object as one dialect creates it (what a snapshot stores). */
export interface SqlObject {
  name: string;
  /** The table it is attached to (a trigger): re-created when SQLite rebuilds that table. */
  table?: string;
  /** Tables it reads (a view): it is re-created when a migration alters or rebuilds them. */
  reads?: string[];
  dependsOn: string[];
  create: string[];
  drop: string[];
}

const list = (s: string | readonly string[]): string[] => (typeof s === 'string' ? [s] : [...s]);

const PG_IDENTIFIER_MAX = 63;

function pgName(name: string): string {
  if (name.length > PG_IDENTIFIER_MAX) {
    throw new Error(`"${name}" is longer than Postgres's ${PG_IDENTIFIER_MAX}-byte identifiers`);
  }
  return `"${name}"`;
}

/** The built-in objects of one table. */
function builtIns(source: SchemaSource, dialect: Dialect): SqlObject[] {
  const out: SqlObject[] = [];
  const functions = new Map<string, SqlObject>();
  for (const t of source.tables) {
    const meta = t.meta;
    const touched = meta.columns.filter((c) => c.meta.touchOnUpdate).map((c) => c.name);
    for (const column of touched) {
      const trigger = `${meta.name}_touch_${column}`;
      if (dialect === 'postgres') {
        const fn = `exora_touch_${column}`;
        if (!functions.has(fn)) {
          const obj: SqlObject = {
            name: `function:${fn}`,
            dependsOn: [],
            create: [
              [
                `CREATE OR REPLACE FUNCTION ${pgName(fn)}() RETURNS trigger LANGUAGE plpgsql AS $$`,
                'BEGIN',
                `  NEW."${column}" = now();`,
                '  RETURN NEW;',
                'END;',
                '$$;',
              ].join('\n'),
            ],
            drop: [`DROP FUNCTION IF EXISTS ${pgName(fn)}();`],
          };
          functions.set(fn, obj);
          out.push(obj);
        }
        out.push({
          name: `trigger:${trigger}`,
          table: meta.name,
          dependsOn: [`function:${fn}`],
          create: [
            `CREATE TRIGGER ${pgName(trigger)} BEFORE UPDATE ON "${meta.name}" FOR EACH ROW EXECUTE FUNCTION ${pgName(fn)}();`,
          ],
          drop: [`DROP TRIGGER IF EXISTS ${pgName(trigger)} ON "${meta.name}";`],
        });
      } else {
        out.push({
          name: `trigger:${trigger}`,
          table: meta.name,
          dependsOn: [],
          create: [
            [
              `CREATE TRIGGER \`${trigger}\` AFTER UPDATE ON \`${meta.name}\` FOR EACH ROW`,
              `WHEN NEW.\`${column}\` IS OLD.\`${column}\``,
              'BEGIN',
              `  UPDATE \`${meta.name}\` SET \`${column}\` = cast(unixepoch('subsec') * 1000 as integer) WHERE rowid = NEW.rowid;`,
              'END;',
            ].join('\n'),
          ],
          drop: [`DROP TRIGGER IF EXISTS \`${trigger}\`;`],
        });
      }
    }
    if (dialect === 'postgres' && meta.policy !== undefined) {
      out.push({
        name: `rls:${meta.name}`,
        table: meta.name,
        dependsOn: [],
        create: [`ALTER TABLE "${meta.name}" FORCE ROW LEVEL SECURITY;`],
        drop: [`ALTER TABLE "${meta.name}" NO FORCE ROW LEVEL SECURITY;`],
      });
    }
  }
  if (dialect === 'postgres' && source.tables.length > 0) {
    // The engine's actor function: every repository call runs it (row-level security settings,
    // organization and role read from the membership table).
    const { create, drop } = actorFunctionSql(schemaInfo(source.tables));
    out.push({ name: `function:${ACTOR_FUNCTION}`, dependsOn: [], create, drop });
  }
  return out;
}

/** Every custom object of the schema on one dialect, in creation order. */
export function schemaObjects(source: SchemaSource, dialect: Dialect): SqlObject[] {
  const objects = builtIns(source, dialect);
  const names = new Set(objects.map((o) => o.name));
  for (const spec of source.sqlObjects) {
    const sqlOf = dialectSql(spec, dialect);
    if (!sqlOf) continue;
    if (names.has(spec.name)) {
      throw new Error(`Custom SQL object "${spec.name}" has the name of a built-in object`);
    }
    names.add(spec.name);
    objects.push({
      name: spec.name,
      ...(spec.table === undefined ? {} : { table: spec.table }),
      ...(spec.reads === undefined ? {} : { reads: [...spec.reads] }),
      dependsOn: [...(spec.dependsOn ?? [])],
      create: list(sqlOf.create),
      drop: list(sqlOf.drop),
    });
  }
  for (const o of objects) {
    for (const d of o.dependsOn) {
      if (!names.has(d)) {
        throw new Error(`Custom SQL object "${o.name}" depends on "${d}", which is not defined`);
      }
    }
  }
  return sortByDependencies(objects);
}

/** Dependencies first; otherwise the given order. Throws on a cycle. */
function sortByDependencies(objects: SqlObject[]): SqlObject[] {
  const byName = new Map(objects.map((o) => [o.name, o]));
  const out: SqlObject[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (o: SqlObject, path: string[]) => {
    const s = state.get(o.name);
    if (s === 'done') return;
    if (s === 'visiting')
      throw new Error(`Custom SQL objects depend on each other: ${path.join(' -> ')}`);
    state.set(o.name, 'visiting');
    for (const d of o.dependsOn) {
      const dep = byName.get(d);
      if (dep) visit(dep, [...path, d]);
    }
    state.set(o.name, 'done');
    out.push(o);
  };
  for (const o of objects) visit(o, [o.name]);
  return out;
}

const same = (a: SqlObject, b: SqlObject) => JSON.stringify(a) === JSON.stringify(b);

export interface ObjectDiff {
  /** Statements to run before drizzle-kit's (drop removed, changed and re-created objects). */
  before: string[];
  /** Statements to run after them (create added, changed and re-created objects). */
  after: string[];
  added: string[];
  removed: string[];
  changed: string[];
  recreated: string[];
}

/**
 * `touched`: tables drizzle-kit's statements alter, rebuild or drop in this migration;
 * `rebuilt`: tables SQLite rebuilds (which drops their triggers).
 */
export function diffObjects(
  prev: SqlObject[],
  cur: SqlObject[],
  touched: ReadonlySet<string> = new Set(),
  rebuilt: ReadonlySet<string> = new Set(),
): ObjectDiff {
  const prevBy = new Map(prev.map((o) => [o.name, o]));
  const curBy = new Map(cur.map((o) => [o.name, o]));
  const removed = prev.filter((o) => !curBy.has(o.name)).map((o) => o.name);
  const added = cur.filter((o) => !prevBy.has(o.name)).map((o) => o.name);
  const changed = cur
    .filter((o) => prevBy.has(o.name) && !same(prevBy.get(o.name) as SqlObject, o))
    .map((o) => o.name);

  // Objects kept as they are that must still be dropped and created again: those attached to a
  // rebuilt table, those reading a touched table, and (transitively) those depending on any
  // object that is dropped.
  const redo = new Set<string>();
  for (const o of cur) {
    if (!prevBy.has(o.name) || changed.includes(o.name)) continue;
    if ((o.table && rebuilt.has(o.table)) || o.reads?.some((t) => touched.has(t) || rebuilt.has(t)))
      redo.add(o.name);
  }
  const dropped = new Set([...removed, ...changed, ...redo]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const o of cur) {
      if (dropped.has(o.name) || !prevBy.has(o.name)) continue;
      if (o.dependsOn.some((d) => dropped.has(d))) {
        dropped.add(o.name);
        redo.add(o.name);
        grew = true;
      }
    }
  }

  const dropOrder = sortByDependencies(prev.filter((o) => dropped.has(o.name))).reverse();
  const createOrder = sortByDependencies(
    cur.filter((o) => added.includes(o.name) || changed.includes(o.name) || redo.has(o.name)),
  );
  return {
    before: dropOrder.flatMap((o) => o.drop),
    after: createOrder.flatMap((o) => o.create),
    added,
    removed,
    changed,
    recreated: [...redo],
  };
}
