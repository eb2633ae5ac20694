/**
 * `table(name, columns, extras)`: one definition, a real `pgTable` and a real `sqliteTable`.
 *
 * The extras callback runs once per dialect with that dialect's columns, and returns
 * dialect-neutral descriptors (index, unique, check, policy) that are turned into each
 * dialect's own objects here. What only Postgres has gets its SQLite form in one place.
 */
import type { BuildColumns, Column, ColumnBuilderBase, SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import * as pg from 'drizzle-orm/pg-core';
import * as sq from 'drizzle-orm/sqlite-core';
import type { AnyCol, ColumnMeta, ColumnRef, OnDeleteAction } from './columns.ts';
import { snakeCase } from './naming.ts';

type Expr = Column | SQL;

export class IndexSpec {
  readonly kind = 'index';
  columns: Expr[] = [];
  condition: SQL | undefined;
  method: 'btree' | 'gin' = 'btree';
  constructor(
    readonly name: string,
    readonly unique: boolean,
  ) {}
  on(...columns: [Expr, ...Expr[]]): this {
    this.columns = columns;
    return this;
  }
  /** A partial index. */
  where(condition: SQL): this {
    this.condition = condition;
    return this;
  }
  /**
   * A GIN index on a jsonb or text[] column (Postgres). SQLite has no inverted index: it stores
   * the value as JSON text and gets a plain index of the same name, which serves equality only.
   */
  gin(): this {
    this.method = 'gin';
    return this;
  }
}

export class UniqueSpec {
  readonly kind = 'unique';
  columns: Column[] = [];
  constructor(readonly name: string) {}
  on(...columns: [Column, ...Column[]]): this {
    this.columns = columns;
    return this;
  }
}

export interface CheckSpec {
  readonly kind: 'check';
  readonly name: string;
  readonly expression: SQL;
}

export interface PrimaryKeySpec {
  readonly kind: 'primaryKey';
  readonly columns: Column[];
}

/**
 * Who may see a row, as a Postgres row-level security policy. On SQLite (one process, no roles)
 * the same rule is enforced by the repositories, which always filter by the acting user or
 * organization.
 */
export interface PolicySpec {
  readonly kind: 'policy';
  readonly scope: 'user' | 'organization' | 'member' | 'reference' | 'service';
  /** For 'organization': only the organization's admins (or a service) may write. */
  readonly adminWrites?: boolean;
  /** For 'organization': any signed-in user may insert a row (creating an organization). */
  readonly anyUserInserts?: boolean;
  readonly column: Column | undefined;
  /** For 'member': the organization column beside the user column. */
  readonly organizationColumn?: Column;
  /** For 'member': the member's role in the organization (`admin` may manage it). */
  readonly roleColumn?: Column;
}

/**
 * A foreign key over several columns (a row's parent must also have its owner: an agent's
 * activity references the agent and the agent's user together).
 */
export interface ForeignKeySpec {
  readonly kind: 'foreignKey';
  readonly name: string;
  readonly columns: Column[];
  readonly references: () => ColumnRef[];
  readonly onDelete: OnDeleteAction | undefined;
  /** With `onDelete: 'set null'`: only these of `columns` are set to null (see `foreignKey`). */
  readonly setNullColumns: Column[] | undefined;
}

export type ExtraSpec =
  | IndexSpec
  | UniqueSpec
  | CheckSpec
  | PrimaryKeySpec
  | PolicySpec
  | ForeignKeySpec;

export const index = (name: string) => new IndexSpec(name, false);
export const uniqueIndex = (name: string) => new IndexSpec(name, true);
export const unique = (name: string) => new UniqueSpec(name);
export const check = (name: string, expression: SQL): CheckSpec => ({
  kind: 'check',
  name,
  expression,
});
/**
 * A foreign key over several columns. `setNullColumns` (with `onDelete: 'set null'`) nulls only
 * those columns when the parent goes, keeping the rest: a step's (screenshot, organization) pair
 * loses its screenshot but not its NOT NULL organization. Postgres (15+) says so itself
 * (`ON DELETE SET NULL (col)`); SQLite has no column list, so there the pair's key takes no
 * action and a second key on the nulled columns alone (`<name>_set_null`, to the matching
 * parent columns, which must be unique there) sets them null; SQLite checks the pair only when
 * the statement ends, after that. Either way a row can reference only a parent with the same
 * value in the other columns, whoever writes it.
 */
export const foreignKey = (
  name: string,
  columns: [Column, ...Column[]],
  references: () => [ColumnRef, ...ColumnRef[]],
  actions: { onDelete?: OnDeleteAction; setNullColumns?: [Column, ...Column[]] } = {},
): ForeignKeySpec => {
  const only = actions.setNullColumns;
  if (only && (actions.onDelete !== 'set null' || only.some((c) => !columns.includes(c)))) {
    throw new Error(
      `Foreign key ${name}: setNullColumns needs onDelete 'set null' and columns of the key`,
    );
  }
  return {
    kind: 'foreignKey',
    name,
    columns,
    references,
    onDelete: actions.onDelete,
    setNullColumns: only,
  };
};
export const primaryKey = (...columns: [Column, ...Column[]]): PrimaryKeySpec => ({
  kind: 'primaryKey',
  columns,
});
/** Rows belong to the user in `column`: the acting user sees and changes only those. */
export const ownedByUser = (column: Column): PolicySpec => ({
  kind: 'policy',
  scope: 'user',
  column,
});
/**
 * Rows belong to the organization in `column`: its members read them; with `adminWrites`, only
 * its admins change them.
 */
export const ownedByOrganization = (
  column: Column,
  options: { adminWrites?: boolean; anyUserInserts?: boolean } = {},
): PolicySpec => ({
  kind: 'policy',
  scope: 'organization',
  column,
  ...(options.adminWrites ? { adminWrites: true } : {}),
  ...(options.anyUserInserts ? { anyUserInserts: true } : {}),
});
/** Only a service context reads or writes these rows (session stores, queues). */
export const serviceOnly = (): PolicySpec => ({
  kind: 'policy',
  scope: 'service',
  column: undefined,
});
/**
 * Rows visible to the user in `userColumn` and to members of the organization in
 * `organizationColumn` (users: yourself, and the people of your organization).
 */
export const ownedByUserOrOrganization = (
  userColumn: Column,
  organizationColumn: Column,
  roleColumn?: Column,
): PolicySpec => ({
  kind: 'policy',
  scope: 'member',
  column: userColumn,
  organizationColumn,
  ...(roleColumn ? { roleColumn } : {}),
});
/** Reference data: every role may read it; only a service context writes it. */
export const readableByAll = (): PolicySpec => ({
  kind: 'policy',
  scope: 'reference',
  column: undefined,
});

/** Session settings the policies read; `exora_set_actor()` sets them (transaction-local). */
export const RLS_SETTINGS = {
  userId: 'app.user_id',
  organizationId: 'app.organization_id',
  role: 'app.role',
  service: 'app.service',
} as const;

// Each setting is read in a scalar subquery: Postgres evaluates it once per statement (an
// InitPlan) and compares the column itself, so the column's index serves the policy.
const setting = (name: string, type: string) =>
  sql.raw(`(select nullif(current_setting('${name}', true), '')::${type})`);
const actingUser = setting(RLS_SETTINGS.userId, 'uuid');
const actingOrg = setting(RLS_SETTINGS.organizationId, 'uuid');
const isService = sql.raw(`(select current_setting('${RLS_SETTINGS.service}', true) = 'on')`);
const isAdmin = sql.raw(`(select current_setting('${RLS_SETTINGS.role}', true) = 'admin')`);

function policySql(spec: PolicySpec): { using: SQL; withCheck: SQL } {
  if (spec.scope === 'reference') return { using: sql`true`, withCheck: isService };
  if (spec.scope === 'service') return { using: isService, withCheck: isService };
  if (spec.scope === 'member') {
    const rule = sql`(${isService} or ${spec.column} = ${actingUser} or ${spec.organizationColumn} = ${actingOrg})`;
    return { using: rule, withCheck: rule };
  }
  const owner = spec.scope === 'user' ? actingUser : actingOrg;
  const rule = sql`(${isService} or ${spec.column} = ${owner})`;
  return { using: rule, withCheck: rule };
}

// ---------------------------------------------------------------------------------------------

export interface ColumnInfo {
  readonly key: string;
  readonly name: string;
  readonly meta: ColumnMeta;
}

/** What the kit records about a table, for error mapping, migrations, verify and docs. */
export interface TableMeta {
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  /** Unique constraints and unique indexes, by name, with their SQLite column names. */
  readonly uniques: { name: string; columns: string[] }[];
  readonly checks: string[];
  readonly policy: PolicySpec['scope'] | undefined;
  /** Column that names the owner, for user- and organization-scoped tables. */
  readonly ownerColumn: string | undefined;
  /** The owner column's property key. */
  readonly ownerKey: string | undefined;
  /** For a `member`-scoped table (the membership table): organization and role keys. */
  readonly organizationKey: string | undefined;
  readonly roleKey: string | undefined;
  readonly hasUpdatedAt: boolean;
}

type PgBuilders<T extends Record<string, AnyCol>> = {
  [K in keyof T]: T[K]['pg'] & pg.PgColumnBuilderBase;
};
type SqliteBuilders<T extends Record<string, AnyCol>> = {
  [K in keyof T]: T[K]['sqlite'] & sq.SQLiteColumnBuilderBase;
};

export type PgTableOf<N extends string, T extends Record<string, AnyCol>> = pg.PgTableWithColumns<{
  name: N;
  schema: undefined;
  columns: BuildColumns<N, PgBuilders<T>, 'pg'>;
  dialect: 'pg';
}>;
export type SqliteTableOf<
  N extends string,
  T extends Record<string, AnyCol>,
> = sq.SQLiteTableWithColumns<{
  name: N;
  schema: undefined;
  columns: BuildColumns<N, SqliteBuilders<T>, 'sqlite'>;
  dialect: 'sqlite';
}>;

export interface Table<N extends string = string, T extends Record<string, AnyCol> = any> {
  readonly name: N;
  readonly pg: PgTableOf<N, T>;
  readonly sqlite: SqliteTableOf<N, T>;
  /** Column references for `.references(() => other.columns.id)`. */
  readonly columns: { readonly [K in keyof T]: ColumnRef };
  readonly meta: TableMeta;
}

export interface AnyTable {
  readonly name: string;
  readonly pg: pg.PgTable<any>;
  readonly sqlite: sq.SQLiteTable<any>;
  readonly columns: Readonly<Record<string, ColumnRef>>;
  readonly meta: TableMeta;
}

export function table<const N extends string, T extends Record<string, AnyCol>>(
  name: N,
  columns: T,
  extras?: (t: { [K in keyof T]: Column }) => ExtraSpec[],
): Table<N, T> {
  const pgCols: Record<string, ColumnBuilderBase> = {};
  const sqCols: Record<string, ColumnBuilderBase> = {};
  const infos: ColumnInfo[] = [];
  for (const [key, col] of Object.entries(columns)) {
    const dbName = snakeCase(key);
    (col.pg as any).setName(dbName);
    (col.sqlite as any).setName(dbName);
    pgCols[key] = col.pg;
    sqCols[key] = col.sqlite;
    infos.push({ key, name: dbName, meta: col.meta });
  }

  const uniques: TableMeta['uniques'] = [];
  const checks: string[] = [];
  let policy: PolicySpec | undefined;
  let ownerColumn: string | undefined;
  const keyOf = (column: Column | undefined) =>
    column ? infos.find((i) => i.name === column.name)?.key : undefined;

  // Column-level facts the seeds state as CHECKs on SQLite (enum lists, varchar lengths).
  const implicitChecks = (cols: Record<string, Column>): CheckSpec[] =>
    infos.flatMap((info) => {
      const c = cols[info.key]!;
      const out: CheckSpec[] = [];
      if (info.meta.enumValues && !info.meta.pgEnumName) {
        const list = sql.join(
          info.meta.enumValues.map((v) => sql.raw(`'${v.replaceAll("'", "''")}'`)),
          sql`, `,
        );
        out.push(check(`${name}_${info.name}_check`, sql`${c} in (${list})`));
      }
      return out;
    });
  const sqliteOnlyChecks = (cols: Record<string, Column>): CheckSpec[] =>
    infos.flatMap((info) => {
      const c = cols[info.key]!;
      const out: CheckSpec[] = [];
      if (info.meta.pgEnumName && info.meta.enumValues) {
        const list = sql.join(
          info.meta.enumValues.map((v) => sql.raw(`'${v.replaceAll("'", "''")}'`)),
          sql`, `,
        );
        out.push(check(`${name}_${info.name}_check`, sql`${c} in (${list})`));
      }
      if (info.meta.maxLength !== undefined) {
        out.push(
          check(
            `${name}_${info.name}_length_check`,
            sql`length(${c}) <= ${sql.raw(String(info.meta.maxLength))}`,
          ),
        );
      }
      return out;
    });

  const pgTable = pg.pgTable(name, pgCols as any, (self: any) => {
    const specs = [...implicitChecks(self), ...(extras?.(self) ?? [])];
    return specs.flatMap((spec) => [toPg(name, spec)].flat());
  });
  const sqliteTable = sq.sqliteTable(name, sqCols as any, (self: any) => {
    const specs = [...implicitChecks(self), ...sqliteOnlyChecks(self), ...(extras?.(self) ?? [])];
    uniques.length = 0;
    checks.length = 0;
    for (const info of infos) {
      const b = (columns[info.key]!.sqlite as any).config;
      if (b?.isUnique)
        uniques.push({ name: b.uniqueName ?? `${name}_${info.name}_unique`, columns: [info.name] });
    }
    for (const spec of specs) {
      if (spec.kind === 'unique')
        uniques.push({ name: spec.name, columns: spec.columns.map((c) => c.name) });
      if (spec.kind === 'index' && spec.unique)
        uniques.push({
          name: spec.name,
          columns: spec.columns.map((c) => ('name' in c ? c.name : '')),
        });
      if (spec.kind === 'check') checks.push(spec.name);
      if (spec.kind === 'policy') {
        policy = spec;
        ownerColumn = spec.column?.name;
      }
    }
    return specs.flatMap((spec) => toSqlite(spec));
  });

  // Drizzle runs the extras lazily (and again on every getTableConfig, hence the resets above);
  // run the SQLite one now so the metadata is complete.
  sq.getTableConfig(sqliteTable);

  const refs: Record<string, ColumnRef> = {};
  for (const info of infos) {
    refs[info.key] = {
      table: name,
      key: info.key,
      get pg() {
        return (pgTable as any)[info.key];
      },
      get sqlite() {
        return (sqliteTable as any)[info.key];
      },
    };
  }

  const meta: TableMeta = {
    name,
    columns: infos,
    uniques,
    checks,
    get policy() {
      return policy?.scope;
    },
    get ownerColumn() {
      return ownerColumn;
    },
    get ownerKey() {
      return keyOf(policy?.column);
    },
    get organizationKey() {
      return keyOf(policy?.organizationColumn);
    },
    get roleKey() {
      return keyOf(policy?.roleColumn);
    },
    hasUpdatedAt: infos.some((i) => i.meta.touchOnUpdate),
  };
  return { name, pg: pgTable as any, sqlite: sqliteTable as any, columns: refs as any, meta };
}

function toPg(table: string, spec: ExtraSpec): any {
  switch (spec.kind) {
    case 'index': {
      const b = spec.unique ? pg.uniqueIndex(spec.name) : pg.index(spec.name);
      const built =
        spec.method === 'gin'
          ? b.using('gin', ...(spec.columns as [any, ...any[]]))
          : b.on(...(spec.columns as [any, ...any[]]));
      return spec.condition ? built.where(spec.condition) : built;
    }
    case 'unique':
      return pg.unique(spec.name).on(...(spec.columns as [any, ...any[]]));
    case 'check':
      return pg.check(spec.name, spec.expression);
    case 'primaryKey':
      return pg.primaryKey({ name: `${table}_pkey`, columns: spec.columns as [any, ...any[]] });
    case 'foreignKey': {
      const fk = pg.foreignKey({
        name: spec.name,
        columns: spec.columns as [any, ...any[]],
        foreignColumns: spec.references().map((r) => r.pg) as [any, ...any[]],
      });
      // Drizzle has no column list for SET NULL; drizzle-kit writes the action as given.
      const action = spec.setNullColumns
        ? `set null (${spec.setNullColumns.map((c) => `"${c.name}"`).join(', ')})`
        : spec.onDelete;
      return action ? fk.onDelete(action as OnDeleteAction) : fk;
    }
    case 'policy': {
      const { using, withCheck } = policySql(spec);
      if (spec.scope === 'reference') {
        return [
          pg.pgPolicy(`${table}_read`, { as: 'permissive', for: 'select', using }),
          pg.pgPolicy(`${table}_service_write`, {
            as: 'permissive',
            for: 'all',
            using: isService,
            withCheck,
          }),
        ];
      }
      if (spec.anyUserInserts) {
        return [
          pg.pgPolicy(`${table}_${spec.scope}_read`, { as: 'permissive', for: 'select', using }),
          pg.pgPolicy(`${table}_user_insert`, {
            as: 'permissive',
            for: 'insert',
            withCheck: sql`(${isService} or ${actingUser} is not null)`,
          }),
          pg.pgPolicy(`${table}_${spec.scope}_update`, {
            as: 'permissive',
            for: 'update',
            using,
            withCheck,
          }),
          pg.pgPolicy(`${table}_${spec.scope}_delete`, { as: 'permissive', for: 'delete', using }),
        ];
      }
      if (spec.adminWrites) {
        const write = sql`(${isService} or (${spec.column} = ${actingOrg} and ${isAdmin}))`;
        return [
          pg.pgPolicy(`${table}_${spec.scope}_read`, { as: 'permissive', for: 'select', using }),
          pg.pgPolicy(`${table}_admin_insert`, {
            as: 'permissive',
            for: 'insert',
            withCheck: write,
          }),
          pg.pgPolicy(`${table}_admin_update`, {
            as: 'permissive',
            for: 'update',
            using: write,
            withCheck: write,
          }),
          pg.pgPolicy(`${table}_admin_delete`, { as: 'permissive', for: 'delete', using: write }),
        ];
      }
      return pg.pgPolicy(`${table}_${spec.scope}_isolation`, {
        as: 'permissive',
        for: 'all',
        using,
        withCheck,
      });
    }
  }
}

function toSqlite(spec: ExtraSpec): any[] {
  switch (spec.kind) {
    case 'index': {
      const b = spec.unique ? sq.uniqueIndex(spec.name) : sq.index(spec.name);
      const built = b.on(...(spec.columns as [any, ...any[]]));
      return [spec.condition ? built.where(spec.condition) : built];
    }
    case 'unique':
      return [sq.unique(spec.name).on(...(spec.columns as [any, ...any[]]))];
    case 'check':
      return [sq.check(spec.name, spec.expression)];
    case 'primaryKey':
      return [sq.primaryKey({ columns: spec.columns as [any, ...any[]] })];
    case 'foreignKey': {
      const refs = spec.references();
      const fk = sq.foreignKey({
        name: spec.name,
        columns: spec.columns as [any, ...any[]],
        foreignColumns: refs.map((r) => r.sqlite) as [any, ...any[]],
      });
      const only = spec.setNullColumns;
      if (!only) return [spec.onDelete ? fk.onDelete(spec.onDelete) : fk];
      const nulling = sq
        .foreignKey({
          name: `${spec.name}_set_null`,
          columns: only as [any, ...any[]],
          foreignColumns: only.map((c) => refs[spec.columns.indexOf(c)]!.sqlite) as [any, ...any[]],
        })
        .onDelete('set null');
      return [fk, nulling];
    }
    case 'policy':
      return [];
  }
}
