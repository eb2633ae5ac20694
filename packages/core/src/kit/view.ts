/**
 * `view(name, { reads, query })`: a view written once as a Drizzle query, giving a real `pgView`
 * and a real `sqliteView` (typed, for statements to select from) and the SQL that creates and
 * drops it on each dialect, rendered from that same query. The object has the migrations app's
 * custom-object shape (`kind: 'sqlObject'`), so exporting it from a schema module puts the view
 * in the migrations (created after its tables, dropped and created again when a migration alters
 * a table it reads), in `db:verify` and in the rollbacks.
 *
 * On Postgres the view is `security_invoker`: it reads its tables with the querying role's
 * privileges and row-level security, so a user sees the rows of their own only.
 */
import type { ColumnsSelection, SQL } from 'drizzle-orm';
import * as pg from 'drizzle-orm/pg-core';
import type { TypedQueryBuilder } from 'drizzle-orm/query-builders/query-builder';
import * as sq from 'drizzle-orm/sqlite-core';
import type { Dialect } from '../database.ts';
import { type DialectFunctions, dialectFunctions } from '../engine/functions.ts';
import type { AnyTable } from './table.ts';

export interface ViewBuildContext {
  readonly dialect: Dialect;
  /** The dialect's query builder (typed as Postgres: same shapes, same rows). */
  readonly qb: pg.QueryBuilder;
  /** A kit table as this dialect's Drizzle table. */
  table<U extends AnyTable>(table: U): U['pg'];
  /** SQL that differs by dialect (dates, arrays, JSON). */
  readonly fn: DialectFunctions;
}

/** A kit view: the migrations' custom object and each dialect's Drizzle view. */
export interface View<N extends string = string, V = unknown> {
  readonly kind: 'sqlObject';
  readonly name: `view:${N}`;
  /** The view's SQL name. */
  readonly viewName: N;
  /** The tables it reads (the view is created again when a migration alters one). */
  readonly reads: readonly string[];
  readonly pg: { readonly create: string; readonly drop: string };
  readonly sqlite: { readonly create: string; readonly drop: string };
  /** The Drizzle view of each dialect (typed as the Postgres one: same columns, same rows). */
  readonly drizzle: { readonly pg: V; readonly sqlite: V };
}

export type AnyView = View<string, any>;

function definition(dialect: Dialect, query: SQL): string {
  const d = dialect === 'postgres' ? new pg.PgDialect() : new sq.SQLiteSyncDialect();
  const { sql, params } = d.sqlToQuery(query.inlineParams());
  if (params.length > 0) throw new Error('A view cannot have parameters');
  return sql;
}

/**
 * A view over kit tables, its query built once per dialect by `query`. Names the tables it
 * reads in `reads`; the query must not take parameters (constants are written into it).
 */
export function view<const N extends string, S extends ColumnsSelection>(
  name: N,
  options: {
    reads: readonly AnyTable[];
    query: (q: ViewBuildContext) => TypedQueryBuilder<S>;
  },
) {
  const context = (dialect: Dialect, qb: unknown): ViewBuildContext => ({
    dialect,
    qb: qb as pg.QueryBuilder,
    table: (t) => (dialect === 'postgres' ? t.pg : t.sqlite) as never,
    fn: dialectFunctions(dialect),
  });
  const pgView = pg
    .pgView(name)
    .with({ securityInvoker: true })
    .as((qb) => options.query(context('postgres', qb)));
  const sqliteView = sq
    .sqliteView(name)
    .as((qb) => options.query(context('sqlite', qb)) as never) as unknown as typeof pgView;
  const pgQuery = pg.getViewConfig(pgView).query as SQL;
  const sqliteQuery = sq.getViewConfig(sqliteView as never).query as SQL;
  const result: View<N, typeof pgView> = {
    kind: 'sqlObject',
    name: `view:${name}`,
    viewName: name,
    reads: options.reads.map((t) => t.name),
    pg: {
      create: `CREATE VIEW "${name}" WITH (security_invoker = true) AS ${definition('postgres', pgQuery)};`,
      drop: `DROP VIEW IF EXISTS "${name}";`,
    },
    sqlite: {
      create: `CREATE VIEW \`${name}\` AS ${definition('sqlite', sqliteQuery)};`,
      drop: `DROP VIEW IF EXISTS \`${name}\`;`,
    },
    drizzle: { pg: pgView, sqlite: sqliteView },
  };
  return result;
}
