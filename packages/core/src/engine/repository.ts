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
import { randomUUID } from 'node:crypto';
import type { CryptoServices } from '@exora/crypto';
import { getTableColumns, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { Executor, UnitMode } from '../database.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { AnyTable } from '../kit/table.ts';
import { type ParamsFor, type Statement, statement } from './statement.ts';

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

/**
 * Runs a single-row insert statement for many rows, all or nothing: rows validated and secrets
 * encrypted first, then multi-row inserts in chunks (one round trip on Postgres).
 */
export function runMany<P extends Record<string, unknown>>(
  ctx: DomainContext,
  stmt: Statement<P, number>,
  rows: readonly P[],
): Promise<number> {
  return ctx.exec.runMany(ctx, stmt, rows);
}

/** The most rows one `insertMany` call takes (a larger import is several calls). */
export const INSERT_MANY_MAX_ROWS = 100_000;

const generated = new WeakMap<AnyTable, Map<string, Statement<ParamsFor<string>, number>>>();

/** The insert statement of `table` for rows giving exactly `keys`. */
function insertStatement(table: AnyTable, keys: readonly string[]) {
  let byKeys = generated.get(table);
  if (!byKeys) {
    byKeys = new Map();
    generated.set(table, byKeys);
  }
  const id = keys.join(',');
  let stmt = byKeys.get(id);
  if (!stmt) {
    const { policy, ownerKey } = table.meta;
    stmt = statement.count(
      `${table.name}.insertMany(${id})`,
      table,
      keys,
      ({ db, t, $, owner, actorOrganization }) => {
        const values: Record<string, unknown> = {};
        for (const key of keys) values[key] = $[key];
        if (policy === 'user' && ownerKey) values[ownerKey] = owner;
        if (policy === 'organization' && ownerKey) values[ownerKey] = actorOrganization();
        return db.insert(t).values(values as never);
      },
      { serviceOnly: policy === 'service' || policy === 'member' || undefined },
    );
    byKeys.set(id, stmt);
  }
  return stmt;
}

/**
 * Inserts many rows of any kit table for the context's actor, all or nothing; returns how many.
 * Every row gives the same fields. On a user-owned table the owner column is the acting user
 * (a service gives it per row); on an organization-owned one, the acting user's organization (a
 * service gives it per row). Encrypted columns are encrypted per row; a table whose secrets are
 * bound to `id` gets ids generated here when the rows leave them out.
 */
export function insertMany<T extends AnyTable>(
  ctx: DomainContext,
  table: T,
  rows: readonly T['pg']['$inferInsert'][],
): Promise<number> {
  if (!Array.isArray(rows)) return Promise.reject(new ValidationError('rows', 'must be an array'));
  if (rows.length === 0) return Promise.resolve(0);
  if (rows.length > INSERT_MANY_MAX_ROWS) {
    return Promise.reject(
      new ValidationError('rows', `must hold at most ${INSERT_MANY_MAX_ROWS} rows per call`),
    );
  }
  const { policy, ownerKey, columns } = table.meta;
  const known = new Set(columns.map((c) => c.key));
  const owning = policy === 'user' || policy === 'organization' ? ownerKey : undefined;
  const needsId =
    known.has('id') &&
    columns.some((c) => c.meta.secret && (c.meta.secret.boundTo ?? ['id']).includes('id'));
  const objectAt = (i: number): Record<string, unknown> => {
    const row = rows[i] as unknown;
    if (!row || typeof row !== 'object' || Array.isArray(row)) {
      throw new ValidationError('rows', 'must hold objects');
    }
    return row as Record<string, unknown>;
  };
  try {
    const head = objectAt(0);
    const first = Object.keys(head)
      .filter((k) => head[k] !== undefined && k !== owning)
      .sort();
    for (const key of first) {
      if (!known.has(key)) throw new ValidationError(key, `is not a column of ${table.name}`);
    }
    const fields = new Set(first);
    const addId = needsId && !fields.has('id');
    const keys = addId ? [...first, 'id'].sort() : first;
    const params = rows.map((_, i) => {
      const r = objectAt(i);
      // The same fields as the first row, counted instead of sorted: this runs for every row.
      let given = 0;
      for (const k in r) {
        if (!Object.hasOwn(r, k) || r[k] === undefined || k === owning) continue;
        if (!fields.has(k)) {
          given = -1;
          break;
        }
        given++;
      }
      if (given !== first.length) {
        throw new ValidationError(`rows[${i}]`, 'must give the same fields as the first row');
      }
      // Built field by field in one order: copying the row with a spread and then adding a
      // property cost about 1 µs per row on Node 20 (measured), a delete more.
      const p: Record<string, unknown> = {};
      for (const k of first) p[k] = r[k];
      if (addId) p.id = randomUUID();
      if (owning) p[policy === 'user' ? 'owner' : 'organizationId'] = r[owning];
      return p as ParamsFor<string>;
    });
    return runMany(ctx, insertStatement(table, keys), params);
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Several statements as one unit for the context's actor: all or nothing. */
export function unit<R>(
  ctx: DomainContext,
  mode: UnitMode,
  fn: (tx: DomainContext) => Promise<R>,
): Promise<R> {
  return ctx.exec.unit(ctx, mode, (exec) => fn({ exec, actor: ctx.actor, crypto: ctx.crypto }));
}

/** A domain's repository factories by name: `{ users: createUsersRepository, ... }`. */
export type RepositoryFactories = Readonly<Record<string, (ctx: DomainContext) => object>>;
export type RepositoriesOf<F extends RepositoryFactories> = {
  readonly [K in keyof F]: ReturnType<F[K]>;
};

const CONTEXT = Symbol('exora.domainContext');

/** Where a repository set keeps the repositories it built. */
const BUILT = Symbol('exora.builtRepositories');

/**
 * A prototype whose properties create each repository at first use for the object's context,
 * then keep it. Services build a set of repositories per request (`db.forUser(id)`) and use one
 * or two of them: building all of them every time would cost more than the call itself.
 */

export function repositoryPrototype<F extends RepositoryFactories, M extends object = object>(
  factories: F,
  methods?: M,
): RepositoriesOf<F> & M {
  const proto = Object.create(methods ?? Object.prototype);
  for (const [key, make] of Object.entries(factories)) {
    Object.defineProperty(proto, key, {
      enumerable: true,
      configurable: true,
      get(this: { [CONTEXT]: DomainContext; [BUILT]?: Record<string, unknown> }) {
        // Kept in a plain object: redefining a property on every fresh set (one per request)
        // turned each set into a slow dictionary object.
        let built = this[BUILT];
        if (!built) {
          built = {};
          this[BUILT] = built;
        }
        let repository = built[key];
        if (repository === undefined) {
          repository = make(this[CONTEXT]);
          built[key] = repository;
        }
        return repository;
      },
    });
  }
  return proto;
}

/** An object of `prototype`'s repositories for `ctx` (see `repositoryPrototype`). */
export function repositoriesFor<P extends object>(prototype: P, ctx: DomainContext): P {
  const repos = Object.create(prototype);
  repos[CONTEXT] = ctx;
  return repos;
}

/** The context a repository set was made for. */
export function contextOf(repos: object): DomainContext {
  const ctx = (repos as { [CONTEXT]?: DomainContext })[CONTEXT];
  if (!ctx) throw new Error('Not a repository set made by repositoriesFor()');
  return ctx;
}

/** Every repository of `factories` for a context, each created at first use. */
export function lazyRepositories<F extends RepositoryFactories>(
  factories: F,
): (ctx: DomainContext) => RepositoriesOf<F> {
  const prototype = repositoryPrototype(factories);
  return (ctx) => repositoriesFor(prototype, ctx);
}

/** The value, or a `NotFoundError` naming what was looked for. */
export async function found<T>(entity: string, value: Promise<T | null>): Promise<T> {
  const v = await value;
  if (v === null || v === undefined) throw new NotFoundError(entity);
  return v;
}

/** Any column of a dialect table (its columns object has no index signature). */
type TableColumn<T extends AnyTable['pg']> = T['_']['columns'][keyof T['_']['columns']];

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
