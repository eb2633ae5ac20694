/**
 * How a repository method is written. A domain declares its statements once, at module level,
 * with `statement.*` (see `statement.ts`), and each method is a line: validate the input, then
 * `run(ctx, statement, params)`. Several statements that must succeed together go in
 * `unit(ctx, 'write', (tx) => ...)`.
 *
 *   const findProfile = statement.maybe('userProfiles.find', userProfiles, ({ db, t, owned }) =>
 *     db.select().from(t).where(owned()),
 *   );
 *   export function createUserProfilesRepository(ctx: DomainContext) {
 *     return { find: (userId?: string) => run(ctx, findProfile, { owner: userId }) };
 *   }
 */
import type { CryptoServices } from '@exora/crypto';
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { Executor, UnitMode } from '../database.ts';
import { NotFoundError } from '../errors.ts';
import type { AnyTable } from '../kit/table.ts';
import type { Statement } from './statement.ts';

/**
 * What every repository of a domain is made with: where to run (a database or a transaction),
 * for whom, and the crypto services for secrets.
 */
export interface DomainContext {
  readonly exec: Executor;
  readonly actor: Actor;
  readonly crypto: CryptoServices;
}

/** Runs one statement for the context's actor: one round trip, prepared once per database. */
export function run<P extends Record<string, unknown>, R>(
  ctx: DomainContext,
  stmt: Statement<P, R>,
  params: P,
): Promise<R> {
  return ctx.exec.run(ctx, stmt, params);
}

/** Several statements as one unit for the context's actor: all or nothing. */
export function unit<R>(
  ctx: DomainContext,
  mode: UnitMode,
  fn: (tx: DomainContext) => Promise<R>,
): Promise<R> {
  return ctx.exec.unit(ctx, mode, (exec) => fn({ exec, actor: ctx.actor, crypto: ctx.crypto }));
}

/** The value, or a `NotFoundError` naming what was looked for. */
export async function found<T>(entity: string, value: Promise<T | null>): Promise<T> {
  const v = await value;
  if (v === null || v === undefined) throw new NotFoundError(entity);
  return v;
}

/** Any column of a dialect table (its columns object has no index signature). */
type TableColumn<T extends AnyTable['pg']> = T['_']['columns'][keyof T['_']['columns']];

type SecretKeys<T extends AnyTable> = {
  [K in keyof T['pg']['_']['columns']]: K;
}[keyof T['pg']['_']['columns']];

/**
 * Every column of a table but its secrets, for `select(...)` and `returning(...)`: what
 * repositories return. A nullable secret is replaced by `has<Key>` (whether one is stored).
 */
export function publicColumns<T extends AnyTable['pg']>(
  table: T,
  kit: AnyTable,
): Record<string, SQL.Aliased<boolean> | TableColumn<T>> {
  const columns = getTableColumns(table) as Record<string, TableColumn<T>>;
  const out: Record<string, SQL.Aliased<boolean> | TableColumn<T>> = {};
  const secret = new Set(kit.meta.columns.filter((c) => c.meta.secret).map((c) => c.key));
  for (const [key, column] of Object.entries(columns)) {
    if (!secret.has(key)) {
      out[key] = column;
    } else if (!column.notNull) {
      const has = `has${key[0]!.toUpperCase()}${key.slice(1)}`;
      out[has] = sql<boolean>`(${column} is not null)`.mapWith(Boolean).as(has);
    }
  }
  return out;
}

export type { SecretKeys };
