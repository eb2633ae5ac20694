/**
 * What the migrations app manages, read from schema modules: kit tables and Postgres enums
 * (what drizzle-kit sees), custom SQL objects (what drizzle-kit cannot express) and reference
 * rows (what `db:seed` inserts).
 *
 * Domain packages contribute custom objects and reference rows by exporting plain objects of
 * the shapes below from a module the app loads (`@exora/db/schema`, `@exora/db/seed`): no
 * import of this app is needed, the shapes are structural.
 */
import { pathToFileURL } from 'node:url';
import { type AnyTable, type Dialect, kitTables, type SchemaModule } from '@exora/core';

/** One dialect's SQL for a custom object: statements to create it and to drop it. */
export interface DialectSql {
  readonly create: string | readonly string[];
  readonly drop: string | readonly string[];
}

/**
 * A database object drizzle-kit does not manage (a trigger and its function, a view, an
 * extension, `FORCE ROW LEVEL SECURITY`). Names are unique across the schema; an object with a
 * `table` is re-created after SQLite rebuilds that table. `dependsOn` names objects that must
 * exist first (a trigger's function): they are created before and dropped after it. Each
 * `create` / `drop` entry is one statement.
 */
export interface SqlObjectSpec {
  readonly kind: 'sqlObject';
  readonly name: string;
  readonly table?: string;
  /** Tables it reads (a view): it is dropped and created again when a migration alters them. */
  readonly reads?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly pg?: DialectSql;
  readonly sqlite?: DialectSql;
}

/**
 * Rows every installation needs (agent templates, entity types). Seeding inserts each row with
 * `ON CONFLICT DO NOTHING`, so every row must set the primary key or a unique key.
 */
export interface ReferenceData<T extends AnyTable = AnyTable> {
  readonly kind: 'referenceData';
  readonly table: T;
  readonly rows: readonly T['pg']['$inferInsert'][];
}

export function sqlObject(spec: Omit<SqlObjectSpec, 'kind'>): SqlObjectSpec {
  return { kind: 'sqlObject', ...spec };
}

export function referenceData<T extends AnyTable>(
  table: T,
  rows: readonly T['pg']['$inferInsert'][],
): ReferenceData<T> {
  return { kind: 'referenceData', table, rows };
}

export interface SchemaSource {
  /** Where it came from, for messages (`@exora/db/schema`, a fixture path). */
  readonly label: string;
  readonly modules: SchemaModule[];
  readonly tables: AnyTable[];
  readonly sqlObjects: SqlObjectSpec[];
  readonly referenceData: ReferenceData[];
}

function isSqlObject(v: unknown): v is SqlObjectSpec {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as SqlObjectSpec).kind === 'sqlObject' &&
    typeof (v as SqlObjectSpec).name === 'string'
  );
}

function isReferenceData(v: unknown): v is ReferenceData {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as ReferenceData).kind === 'referenceData' &&
    Array.isArray((v as ReferenceData).rows)
  );
}

function collect<T>(modules: SchemaModule[], guard: (v: unknown) => v is T): T[] {
  const out = new Set<T>();
  for (const mod of modules) {
    for (const value of Object.values(mod)) {
      if (guard(value)) out.add(value);
      else if (Array.isArray(value)) for (const item of value) if (guard(item)) out.add(item);
    }
  }
  return [...out];
}

/**
 * A module's exports in the order of their names. Native ES module namespaces are already in
 * that order, but other loaders (vitest's) keep definition order: the generated SQL, which
 * follows the order of the tables, must not depend on who loaded the schema.
 */
function byExportName(mod: SchemaModule): SchemaModule {
  const names = Object.keys(mod).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(names.map((n) => [n, mod[n]]));
}

/** A source from modules already imported (tests pass fixture modules this way). */
export function sourceFromModules(label: string, imported: SchemaModule[]): SchemaSource {
  const modules = imported.map(byExportName);
  const sqlObjects = collect(modules, isSqlObject);
  const names = new Set<string>();
  for (const o of sqlObjects) {
    if (names.has(o.name)) throw new Error(`Two custom SQL objects are named "${o.name}"`);
    names.add(o.name);
  }
  return {
    label,
    modules,
    tables: kitTables(...modules),
    sqlObjects,
    referenceData: collect(modules, isReferenceData),
  };
}

/** True when `@exora/db/seed` itself is not there (not when something inside it fails). */
function isMissingSeedExport(error: unknown): boolean {
  const { code, message = '' } = (error ?? {}) as { code?: string; message?: string };
  const aboutSeed = /["'](\.\/seed|@exora\/db\/seed)["']/.test(message);
  return (
    code === 'ERR_PACKAGE_PATH_NOT_EXPORTED' ||
    (code === 'ERR_MODULE_NOT_FOUND' && aboutSeed) ||
    (aboutSeed && /is not exported|Cannot find|Failed to (resolve|load)/.test(message))
  );
}

/**
 * The platform schema: `@exora/db/schema`, plus `@exora/db/seed` when that package exports it.
 * With `paths`, those module files instead (fixtures, or a schema under development).
 */
export async function loadSource(paths: readonly string[] = []): Promise<SchemaSource> {
  if (paths.length > 0) {
    const modules: SchemaModule[] = [];
    for (const p of paths) modules.push(await import(pathToFileURL(p).href));
    return sourceFromModules(paths.join(', '), modules);
  }
  const modules: SchemaModule[] = [await import('@exora/db/schema')];
  try {
    // Optional: reference rows and custom objects a domain package may add later.
    modules.push(await import('@exora/db/seed'));
  } catch (error) {
    if (!isMissingSeedExport(error)) throw error;
  }
  return sourceFromModules('@exora/db/schema', modules);
}

export function dialectSql(spec: SqlObjectSpec, dialect: Dialect): DialectSql | undefined {
  return dialect === 'postgres' ? spec.pg : spec.sqlite;
}
