/**
 * Statements: a Drizzle query written once, compiled once per database (SQL text, parameter
 * slots, result mapping), then run many times by filling its placeholders. Nothing in the hot
 * path builds SQL.
 *
 * Filling also validates every value before any I/O (NUL characters, unpaired surrogates, dates
 * neither dialect stores, JSON that does not serialise) and encrypts values bound to a secret
 * column, so no repository can forget either.
 */
import type { CryptoServices } from '@exora/crypto';
import * as drizzle from 'drizzle-orm';
import { Column, is, noopDecoder, Param, Placeholder, SQL, Subquery, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { Dialect, DrizzleHandle } from '../database.ts';
import { PermissionError, ValidationError } from '../errors.ts';
import type { AnyTable } from '../kit/table.ts';
import type { AnyView } from '../kit/view.ts';
import { type DialectFunctions, dialectFunctions } from './functions.ts';
import { actorHasRole, actorOrganization, ownerFilter, type SchemaInfo } from './schema-info.ts';

/** What a statement's rows become. */
export type ResultKind = 'many' | 'maybe' | 'one' | 'count';

/** A placeholder per parameter; `$.bind(column, name)` maps the value like the column does. */
type Placeholders<K extends string> = { readonly [N in K]: Placeholder } & {
  bind(column: Column, name: K): SQL;
};

/** The engine's own parameters: the user a service acts for, the organization it names. */
type EngineParams = {
  /** For a user actor: left out, or their own id. For a service: the user the call is about. */
  readonly owner?: string | null | undefined;
  /** For a service on organization-owned rows: the organization (left out: all of them). */
  readonly organizationId?: string | null | undefined;
};

/** A statement's parameters: its named values and the engine's own. */
export type ParamsFor<K extends string> = { readonly [N in K]: unknown } & EngineParams;

export interface BuildContext<T extends AnyTable, K extends string> {
  readonly dialect: Dialect;
  /** Query builders of this database's dialect (typed as Postgres: same shapes, same rows). */
  readonly db: DrizzleHandle;
  /** The statement's table, as this dialect's Drizzle table. */
  readonly t: T['pg'];
  /** Another kit table, as this dialect's Drizzle table. */
  table<U extends AnyTable>(table: U): U['pg'];
  /**
   * A kit view, as this dialect's Drizzle view. The statement's table is the one the view reads
   * (its owner rules apply: filter the view's owner column with `owner`).
   */
  view<V extends AnyView>(view: V): V['drizzle']['pg'];
  /** The parameters, as placeholders filled at each call. */
  readonly $: Placeholders<K>;
  /**
   * The rows of `t` (or `of`) the actor may touch: the owner's rows for a user-owned table, the
   * actor's organization (from the database's membership, never from the caller) for an
   * organization-owned one. Filled from the actor at each call. Every statement on an owned table
   * must use it unless it is service-only.
   */
  owned(of?: AnyTable['pg']): SQL;
  /**
   * The user the call is about, for writing the owner column: the acting user, or the user a
   * service names with the `owner` parameter. Counts as the owner filter.
   */
  readonly owner: Placeholder;
  /** The organization the call acts in (the acting user's, from the membership table). */
  actorOrganization(): SQL;
  /** True for a service, or a user whose membership role is `role`. */
  actorHasRole(role: string): SQL;
  /** The value an upsert tried to insert: `excluded.<column>`. */
  excluded(column: Column): SQL;
  /** In an upsert's `set`: the stored value when `$[flag]` is true, else the inserted one. */
  keepIf(column: Column, flag: Placeholder): SQL;
  /** SQL that differs by dialect (array and JSON updates). */
  readonly fn: DialectFunctions;
}

export interface StatementOptions {
  /** Only a service context may run it: it reads or writes across owners. */
  readonly serviceOnly?: boolean;
  /** Return secret columns as stored (ciphertext) instead of decrypted (key rotation). */
  readonly ciphertext?: boolean;
  /**
   * Why a statement on an owned table needs no owner filter (an insert whose owner the call
   * checked first). Said in one place, so it shows in review.
   */
  readonly unscoped?: string;
  /**
   * The read may see data a moment old: with read replicas it goes to one of them (the actor's
   * own recent writes excepted, see `replicas.ts`); without, or inside a transaction, it runs on
   * the primary like any other. Lists, feeds and analytics, never a read a write depends on.
   */
  readonly stale?: boolean;
}

/** A statement as written: table, result kind and the function that builds it. */
export class Statement<P extends Record<string, unknown>, R> {
  /** @internal one compiled form per database (a database has one dialect). */
  readonly compiled = new WeakMap<object, Compiled>();
  constructor(
    readonly name: string,
    readonly kind: ResultKind,
    readonly table: AnyTable,
    readonly build: (q: BuildContext<AnyTable, string>) => unknown,
    readonly options: StatementOptions,
  ) {}
  /** @internal type carrier */
  declare readonly _types: { params: P; result: R };
}

/** A builder's selected row type (Drizzle's `select`/`returning` results). */
export type Selected<Q> =
  Q extends PromiseLike<infer Rows> ? (Rows extends readonly (infer Item)[] ? Item : never) : never;

/**
 * Writes statements against kit tables. The build function runs once per database; at each
 * call the engine fills `$` and the owner filter, runs the SQL in one round trip and maps rows.
 */
export const statement = {
  many<T extends AnyTable, const K extends string, Q extends PromiseLike<unknown>>(
    name: string,
    table: T,
    _params: readonly K[],
    build: (q: BuildContext<T, K>) => Q,
    options: StatementOptions = {},
  ): Statement<ParamsFor<K>, Selected<Q>[]> {
    return new Statement(name, 'many', table, build as never, options);
  },
  /** At most one row: the row or null. */
  maybe<T extends AnyTable, const K extends string, Q extends PromiseLike<unknown>>(
    name: string,
    table: T,
    _params: readonly K[],
    build: (q: BuildContext<T, K>) => Q,
    options: StatementOptions = {},
  ): Statement<ParamsFor<K>, Selected<Q> | null> {
    return new Statement(name, 'maybe', table, build as never, options);
  },
  /** Exactly one row (an insert ... returning): anything else is a bug, reported as one. */
  one<T extends AnyTable, const K extends string, Q extends PromiseLike<unknown>>(
    name: string,
    table: T,
    _params: readonly K[],
    build: (q: BuildContext<T, K>) => Q,
    options: StatementOptions = {},
  ): Statement<ParamsFor<K>, Selected<Q>> {
    return new Statement(name, 'one', table, build as never, options);
  },
  /** A write without `returning`: the number of rows it changed. */
  count<T extends AnyTable, const K extends string>(
    name: string,
    table: T,
    _params: readonly K[],
    build: (q: BuildContext<T, K>) => unknown,
    options: StatementOptions = {},
  ): Statement<ParamsFor<K>, number> {
    return new Statement(name, 'count', table, build as never, options);
  },
};

export type ParamsOf<S> = S extends Statement<infer P, unknown> ? P : never;
export type ResultOf<S> = S extends Statement<Record<string, unknown>, infer R> ? R : never;

// ---------------------------------------------------------------------------------------------
// Compiled form.

/** Where the engine's own values go. */
export const OWNER = '__owner';
export const ACTOR = '__actor';
export const ORGANIZATION = '__org';

interface Slot {
  /** The placeholder's name: a parameter, or the engine's owner / actor / organization. */
  readonly name: string;
  /** The column whose mapping applies (insert values, `set`, `$.bind`), if any. */
  readonly column: Column | undefined;
  /** The secret this slot writes, when the column is encrypted. */
  readonly secret: SecretSlot | undefined;
  /** Where the value comes from: a parameter, or the engine's owner / actor / organization. */
  readonly source: 'param' | 'owner' | 'actor' | 'organization';
  /** Whether the column stores JSON (values checked as JSON). */
  readonly json: boolean;
  /** The column's conversion to a driver value, when it is not the identity. */
  readonly toDriver: ((value: unknown) => unknown) | undefined;
}

const sourceOf = (name: string): Slot['source'] =>
  name === OWNER
    ? 'owner'
    : name === ACTOR
      ? 'actor'
      : name === ORGANIZATION
        ? 'organization'
        : 'param';

function slotFor(name: string, column: Column | undefined, schema: SchemaInfo): Slot {
  const toDriver =
    column && column.mapToDriverValue !== Column.prototype.mapToDriverValue
      ? (value: unknown) => column.mapToDriverValue(value)
      : undefined;
  return {
    name,
    column,
    secret: column ? schema.secretOf(column) : undefined,
    source: sourceOf(name),
    json: column ? /Json|Array/i.test((column as { columnType?: string }).columnType ?? '') : false,
    toDriver,
  };
}

interface SecretSlot {
  readonly table: string;
  readonly column: string;
  /** Parameter names whose values form the row identity bound into the ciphertext. */
  readonly boundTo: readonly string[];
  /** The owner column's key: without a parameter of that name, the call's owner is bound. */
  readonly ownerKey: string | undefined;
}

interface SecretField {
  /** Index of the ciphertext in the selected fields. */
  readonly index: number;
  readonly path: readonly string[];
  readonly table: string;
  readonly column: string;
  /** For each bound column: the index of its value in the selected fields, or a parameter. */
  readonly boundTo: readonly ({ field: number } | { param: string })[];
  readonly ownerKey: string | undefined;
}

export interface Compiled {
  readonly name: string;
  readonly kind: ResultKind;
  readonly sql: string;
  /** Constant parameters (already driver values) or slots to fill. */
  readonly params: readonly (Slot | { readonly value: unknown })[];
  readonly fields: { path: string[]; field: unknown }[] | undefined;
  readonly joinsNotNullableMap: Record<string, boolean> | undefined;
  /** Driver row (array in field order) to object, decoders resolved once (see `rowMapper`). */
  readonly mapRow: ((raw: readonly unknown[]) => Record<string, unknown>) | undefined;
  readonly secrets: readonly SecretField[];
  readonly usesOwner: boolean;
  readonly usesActor: boolean;
  readonly serviceOnly: boolean;
  readonly isReader: boolean;
  /** An insert of one `values` tuple: it returns at most one row. */
  readonly singleRow: boolean;
  /** Multi-row forms of a single-row insert, by row count (see `bulkSql`). */
  readonly bulk: Map<number, string>;
  /** The driver's prepared statement, kept by the dialect that compiled this (SQLite). */
  prepared?: unknown;
}

function placeholderProxy(): Placeholders<string> {
  const cache = new Map<string, Placeholder>();
  // Wrapped in SQL: Drizzle wraps a bare Param again in `set`, losing the placeholder.
  const bind = (column: Column, name: string) => sql`${sql.param(sql.placeholder(name), column)}`;
  return new Proxy({ bind } as unknown as Placeholders<string>, {
    get(_target, key) {
      if (key === 'bind') return bind;
      if (typeof key !== 'string') return undefined;
      let p = cache.get(key);
      if (!p) {
        p = sql.placeholder(key);
        cache.set(key, p);
      }
      return p;
    },
  });
}

/** Compiles a statement for one database. Throws a definition error (a bug) at first use. */
export function compile(
  stmt: Statement<Record<string, unknown>, unknown>,
  dialect: Dialect,
  db: DrizzleHandle,
  schema: SchemaInfo,
): Compiled {
  const pick = (t: AnyTable) => (dialect === 'postgres' ? t.pg : t.sqlite) as AnyTable['pg'];
  const main = pick(stmt.table);
  let ownerUsed = false;
  const built = stmt.build({
    dialect,
    db,
    t: main,
    table: pick as never,
    view: (v) => (dialect === 'postgres' ? v.drizzle.pg : v.drizzle.sqlite),
    $: placeholderProxy(),
    owned(of) {
      ownerUsed = true;
      return ownerFilter(schema, dialect, of ?? main);
    },
    get owner() {
      ownerUsed = true;
      return sql.placeholder(OWNER);
    },
    actorOrganization() {
      ownerUsed = true;
      return actorOrganization(schema, dialect);
    },
    actorHasRole: (role) => actorHasRole(schema, dialect, role),
    excluded: (column) => sql`excluded.${sql.identifier(column.name)}`,
    fn: dialectFunctions(dialect),
    keepIf: (column, flag) =>
      sql`case when ${flag} then ${column} else excluded.${sql.identifier(column.name)} end`,
  }) as { _prepare?: (name?: string) => PreparedLike } | undefined;
  if (!built || typeof built._prepare !== 'function') {
    throw new Error(`Statement ${stmt.name}: the build function must return a Drizzle query`);
  }
  const policy = stmt.table.meta.policy;
  if (
    !ownerUsed &&
    !stmt.options.serviceOnly &&
    !stmt.options.unscoped &&
    (policy === 'user' || policy === 'organization' || policy === 'member')
  ) {
    throw new Error(
      `Statement ${stmt.name} touches ${stmt.table.name} (${policy}-owned) without owned(): filter by the owner or mark it serviceOnly`,
    );
  }
  if (policy === 'service' && !stmt.options.serviceOnly) {
    throw new Error(
      `Statement ${stmt.name} touches ${stmt.table.name} (service-only): mark it serviceOnly`,
    );
  }
  const prepared = dialect === 'postgres' ? built._prepare(stmt.name) : built._prepare();
  const query = prepared.getQuery();
  const isReader =
    /^\s*(select|with)\b/i.test(query.sql) && !/\b(insert|update|delete)\b/i.test(query.sql);
  if (stmt.options.stale && (!isReader || /\bfor (no key )?(update|share)\b/i.test(query.sql))) {
    throw new Error(`Statement ${stmt.name} writes or locks: only a plain read may be stale`);
  }
  const slots: (Slot | { value: unknown })[] = [];
  let usesOwner = false;
  let usesActor = false;
  for (const p of query.params) {
    if (is(p, Placeholder)) {
      slots.push(slotFor(p.name, undefined, schema));
    } else if (is(p, Param) && is(p.value, Placeholder)) {
      const column = p.encoder as Column;
      slots.push(slotFor(p.value.name, column, schema));
    } else {
      slots.push({ value: constantValue(dialect, p) });
      continue;
    }
    const name = (slots.at(-1) as Slot).name;
    if (name === OWNER) usesOwner = true;
    if (name === ACTOR || name === ORGANIZATION) usesActor = true;
  }
  const fields = prepared.fields as { path: string[]; field: unknown }[] | undefined;
  const secrets: SecretField[] = [];
  if (fields && !stmt.options.ciphertext) {
    fields.forEach(({ path, field }, index) => {
      const secret = schema.secretOf(field as Column);
      if (!secret) return;
      const boundTo = secret.boundTo.map((key) => {
        const at = fields.findIndex(
          (f) => schema.columnKeyOf(f.field as Column, secret.table) === key,
        );
        return at >= 0 ? { field: at } : { param: key };
      });
      secrets.push({
        index,
        path,
        table: secret.table,
        column: secret.column,
        boundTo,
        ownerKey: secret.ownerKey,
      });
    });
  }
  return {
    name: stmt.name,
    kind: stmt.kind,
    sql: query.sql,
    params: slots,
    fields,
    joinsNotNullableMap: prepared.joinsNotNullableMap,
    mapRow: fields ? rowMapper(fields, prepared.joinsNotNullableMap) : undefined,
    secrets,
    usesOwner,
    usesActor,
    serviceOnly: stmt.options.serviceOnly ?? false,
    isReader,
    singleRow: valuesTuple(query.sql) !== undefined,
    bulk: new Map(),
  };
}

// ---------------------------------------------------------------------------------------------
// Bulk inserts.

/** Bound parameters one statement may carry: Postgres' protocol limit, SQLite's default. */
const MAX_PARAMS = { postgres: 65_534, sqlite: 32_766 } as const;
/** Distinct multi-row forms kept per statement; other sizes are split into powers of two. */
const MAX_BULK_FORMS = 16;

interface BulkShape {
  readonly head: string;
  readonly tuple: string;
  readonly tail: string;
  readonly perRow: number;
}
const shapes = new WeakMap<Compiled, BulkShape>();

/**
 * Where the one `values (...)` tuple of an `insert into` starts and ends; undefined for any other
 * statement and for an insert of several tuples.
 */
function valuesTuple(text: string): { start: number; end: number } | undefined {
  if (!/^insert into /i.test(text)) return undefined;
  const at = text.indexOf(' values (');
  if (at < 0) return undefined;
  let depth = 0;
  let quoted = false;
  for (let i = at + 8; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") quoted = !quoted;
    else if (quoted) continue;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) {
      return text.startsWith(', (', i + 1) ? undefined : { start: at + 8, end: i };
    }
  }
  return undefined;
}

/** Splits `insert ... values (<tuple>)[ on conflict do nothing]` into its parts. */
function bulkShape(c: Compiled): BulkShape {
  const known = shapes.get(c);
  if (known) return known;
  const fail = () =>
    new Error(
      `Statement ${c.name}: a bulk statement must be a single-row insert without returning (count)`,
    );
  if (c.kind !== 'count') throw fail();
  const tuple = valuesTuple(c.sql);
  if (!tuple) throw fail();
  const tail = c.sql.slice(tuple.end + 1);
  if (!/^( on conflict do nothing)?$/i.test(tail)) throw fail();
  const shape = {
    head: c.sql.slice(0, tuple.start),
    tuple: c.sql.slice(tuple.start, tuple.end + 1),
    tail,
    perRow: c.params.length,
  };
  shapes.set(c, shape);
  return shape;
}

/** The SQL inserting `rows` rows with a single-row insert statement's tuple repeated. */
function bulkSql(c: Compiled, dialect: Dialect, rows: number): string {
  let text = c.bulk.get(rows);
  if (text === undefined) {
    const s = bulkShape(c);
    const tuples = new Array<string>(rows);
    for (let r = 0; r < rows; r++) {
      tuples[r] =
        dialect === 'postgres' && r > 0
          ? s.tuple.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + r * s.perRow}`)
          : s.tuple;
    }
    text = `${s.head}${tuples.join(', ')}${s.tail}`;
    c.bulk.set(rows, text);
  }
  return text;
}

/**
 * The chunks a bulk insert of filled rows is sent as: as few statements as the parameter limit
 * allows, each prepared once. Row counts seen before reuse their statement; past a few distinct
 * counts, a chunk is split into powers of two so the statements kept stay few.
 */
export function bulkChunks(
  c: Compiled,
  dialect: Dialect,
  filled: readonly unknown[][],
): { sql: string; values: unknown[] }[] {
  const { perRow } = bulkShape(c);
  const max = Math.max(1, Math.floor(MAX_PARAMS[dialect] / Math.max(1, perRow)));
  const chunks: { sql: string; values: unknown[] }[] = [];
  let at = 0;
  while (at < filled.length) {
    let n = Math.min(max, filled.length - at);
    if (!c.bulk.has(n) && c.bulk.size >= MAX_BULK_FORMS) n = 2 ** Math.floor(Math.log2(n));
    const values: unknown[] = [];
    for (let r = at; r < at + n; r++) for (const v of filled[r]!) values.push(v);
    chunks.push({ sql: bulkSql(c, dialect, n), values });
    at += n;
  }
  return chunks;
}

/** A value written into the statement itself (`sql\`... ${true}\``), as the driver binds it. */
function constantValue(dialect: Dialect, value: unknown): unknown {
  if (dialect !== 'sqlite') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value;
}

interface PreparedLike {
  getQuery(): { sql: string; params: unknown[] };
  fields?: unknown;
  joinsNotNullableMap?: Record<string, boolean>;
}

// ---------------------------------------------------------------------------------------------
// Filling.

export interface CallContext {
  readonly actor: Actor;
  readonly crypto: CryptoServices | undefined;
}

/** Years both dialects store and read back exactly (timestamptz and integer milliseconds). */
const MIN_TIME = Date.UTC(1, 0, 1);
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const isWellFormed = (s: string): boolean =>
  (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function checkString(value: string, field: string): void {
  if (value.includes('\u0000')) throw new ValidationError(field, 'must not contain NUL characters');
  if (!isWellFormed(value)) {
    throw new ValidationError(field, 'must be well-formed Unicode (no unpaired surrogates)');
  }
}

function checkDate(value: Date, field: string): void {
  const t = value.getTime();
  if (Number.isNaN(t)) throw new ValidationError(field, 'must be a valid Date');
  if (t < MIN_TIME || t > MAX_TIME) {
    throw new ValidationError(field, 'must be between the years 1 and 9999');
  }
}

/**
 * JSON values: plain data only, strings checked like text, at most 64 levels deep. `open` holds
 * the objects being walked (a cycle comes back to one of them); it is made for objects only, so
 * a string or number costs no allocation.
 */
function checkJson(value: unknown, field: string, depth = 0, open?: object[]): void {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new ValidationError(field, 'must hold finite numbers only');
    }
    return;
  }
  if (typeof value === 'string') {
    checkString(value, field);
    return;
  }
  if (typeof value !== 'object' || depth > 64) {
    throw new ValidationError(field, 'must be JSON (no BigInt, functions, undefined or cycles)');
  }
  if (open?.includes(value)) throw new ValidationError(field, 'must be JSON (no cycles)');
  if (value instanceof Date)
    throw new ValidationError(field, 'must be JSON (dates as ISO strings)');
  const walking = open ?? [];
  walking.push(value);
  if (Array.isArray(value)) {
    for (const item of value) checkJson(item, field, depth + 1, walking);
  } else {
    const object = value as Record<string, unknown>;
    for (const k of Object.keys(object)) {
      checkString(k, field);
      const v = object[k];
      if (v !== undefined) checkJson(v, field, depth + 1, walking);
    }
  }
  walking.pop();
}

/** A parameter value checked and turned into what the driver binds. */
function driverValue(dialect: Dialect, slot: Slot, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  const field = slot.name;
  switch (typeof value) {
    case 'string':
      checkString(value, field);
      break;
    case 'number':
      if (!Number.isFinite(value)) throw new ValidationError(field, 'must be a finite number');
      break;
    case 'bigint':
      throw new ValidationError(field, 'must not be a BigInt');
    case 'object':
      if (value instanceof Date) checkDate(value, field);
      else checkJson(value, field);
      break;
  }
  if (slot.column) {
    if (slot.json && typeof value !== 'object') checkJson(value, field);
    return slot.toDriver ? slot.toDriver(value) : value;
  }
  if (value instanceof Date) return dialect === 'postgres' ? value.toISOString() : value.getTime();
  if (typeof value === 'boolean') return dialect === 'postgres' ? value : value ? 1 : 0;
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

/** The row identity bound into a secret's ciphertext: the row id, and its owner where owned. */
export function boundIdentity(values: readonly unknown[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values.map(String));
}

/**
 * The driver parameters of one call. The engine's own slots come from the actor: `__owner` is
 * the user a call is about (the acting user, or the user a service names), `__actor` the acting
 * user, `__org` the organization a service names.
 */
export function fill(
  c: Compiled,
  dialect: Dialect,
  params: Record<string, unknown>,
  call: CallContext,
): unknown[] {
  const { actor } = call;
  if (c.serviceOnly && actor.kind !== 'service') {
    throw new PermissionError(`${c.name} acts across owners: call it from a service context`);
  }
  const out = new Array<unknown>(c.params.length);
  for (let i = 0; i < c.params.length; i++) {
    const slot = c.params[i]!;
    if (!('name' in slot)) {
      out[i] = slot.value;
      continue;
    }
    let value: unknown;
    switch (slot.source) {
      case 'param':
        value = params[slot.name];
        if (value === undefined && !(slot.name in params)) {
          throw new Error(`Statement ${c.name}: no value for parameter "${slot.name}"`);
        }
        break;
      case 'owner':
        value = ownerOf(actor, params);
        break;
      case 'actor':
        value = actor.kind === 'user' ? actor.userId : null;
        break;
      case 'organization':
        value = organizationOf(actor, params);
        break;
    }
    const secret = slot.secret;
    if (secret && value != null) {
      if (!call.crypto) throw new Error(`Statement ${c.name} writes a secret: no crypto services`);
      if (typeof value !== 'string') throw new ValidationError(slot.name, 'must be a string');
      checkString(value, slot.name);
      const rowId = boundIdentity(
        secret.boundTo.map((key) => boundParam(c, secret, key, actor, params)),
      );
      out[i] = call.crypto.cipher.encrypt(value, {
        table: secret.table,
        column: secret.column,
        rowId,
      });
      continue;
    }
    out[i] = driverValue(dialect, slot, value);
  }
  return out;
}

/**
 * The value of a bound column taken from the parameters: the parameter of that name, or for the
 * owner column the call's owner (the acting user, or the user a service names). Anything else
 * missing is a statement that cannot bind its ciphertext: a bug, reported as one.
 */
function boundParam(
  c: Compiled,
  secret: Pick<SecretSlot, 'table' | 'column' | 'ownerKey'>,
  key: string,
  actor: Actor,
  params: Record<string, unknown>,
): unknown {
  if (params[key] !== undefined) return params[key];
  if (key === secret.ownerKey) return ownerOf(actor, params);
  throw new Error(
    `Statement ${c.name}: ${secret.table}.${secret.column} is bound to "${key}": select that column or pass it as a parameter`,
  );
}

function ownerOf(actor: Actor, params: Record<string, unknown>): string {
  const named = params.owner;
  if (actor.kind === 'user') {
    if (named != null && String(named).toLowerCase() !== actor.userId) {
      throw new PermissionError('A user may only act on their own rows');
    }
    return actor.userId;
  }
  if (typeof named !== 'string') {
    throw new ValidationError('userId', 'a service context must name the user');
  }
  return named.toLowerCase();
}

function organizationOf(actor: Actor, params: Record<string, unknown>): string | null {
  if (actor.kind === 'user') return null; // derived from membership in SQL
  const named = params.organizationId;
  if (named == null) return null; // a service naming no organization acts on all
  if (typeof named !== 'string') throw new ValidationError('organizationId', 'must be a UUID');
  return named.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Mapping.

/** Drizzle's own row mapper (exported at run time, left out of its typings as internal). */
const mapResultRow = (
  drizzle as unknown as {
    mapResultRow(
      fields: unknown,
      row: unknown[],
      joinsNotNullableMap: Record<string, boolean> | undefined,
    ): Record<string, unknown>;
  }
).mapResultRow;

type Decode = ((value: unknown) => unknown) | undefined;

/** The decoder Drizzle would use for a selected field; undefined where it returns the value. */
function decoderOf(field: unknown): Decode {
  let decoder: { mapFromDriverValue(value: unknown): unknown };
  if (is(field, Column)) decoder = field;
  else if (is(field, SQL)) decoder = (field as unknown as { decoder: typeof decoder }).decoder;
  else if (is(field, Subquery)) {
    decoder = (field as unknown as { _: { sql: { decoder: typeof decoder } } })._.sql.decoder;
  } else decoder = (field as unknown as { sql: { decoder: typeof decoder } }).sql.decoder;
  const fn = decoder.mapFromDriverValue;
  if (fn === Column.prototype.mapFromDriverValue || fn === noopDecoder.mapFromDriverValue) {
    return undefined;
  }
  return (value) => fn.call(decoder, value);
}

/**
 * Drizzle's row mapping with everything that does not depend on the row worked out once: the
 * decoder and key of each field. Nested selections (a joined table as one field, which becomes
 * null when all of it is null) keep Drizzle's own mapper.
 */
function rowMapper(
  fields: readonly { path: string[]; field: unknown }[],
  joins: Record<string, boolean> | undefined,
): (raw: readonly unknown[]) => Record<string, unknown> {
  // Drizzle nullifies only nested objects (a joined table selected as one field, path length
  // 2); a flat selection maps the same with or without joins, so it takes the fast mapper.
  if (fields.some((f) => f.path.length !== 1)) {
    return (raw) => mapResultRow(fields, raw as unknown[], joins);
  }
  const keys = fields.map((f) => f.path[0]!);
  const decoders = fields.map((f) => decoderOf(f.field));
  const n = keys.length;
  return (raw) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const value = raw[i];
      const decode = decoders[i];
      row[keys[i]!] = value === null || value === undefined ? null : decode ? decode(value) : value;
    }
    return row;
  };
}

/** Rows from the driver (arrays in field order) to objects, secrets decrypted. */
export function mapRows(
  c: Compiled,
  rows: readonly unknown[][],
  params: Record<string, unknown>,
  call: CallContext,
): Record<string, unknown>[] {
  const mapRow = c.mapRow;
  if (!mapRow) return rows as never;
  const out = new Array<Record<string, unknown>>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const raw = rows[r]!;
    const row = mapRow(raw);
    for (const s of c.secrets) {
      const ciphertext = raw[s.index];
      if (ciphertext == null) continue;
      if (!call.crypto) throw new Error(`Statement ${c.name} reads a secret: no crypto services`);
      const rowId = boundIdentity(
        s.boundTo.map((b) =>
          'field' in b ? raw[b.field] : boundParam(c, s, b.param, call.actor, params),
        ),
      );
      let node = row;
      for (let i = 0; i < s.path.length - 1; i++)
        node = node[s.path[i]!] as Record<string, unknown>;
      node[s.path.at(-1)!] = call.crypto.cipher.decrypt(String(ciphertext), {
        table: s.table,
        column: s.column,
        rowId,
      });
    }
    out[r] = row;
  }
  return out;
}

/** The result a statement's kind asks for. */
export function shape(c: Compiled, rows: Record<string, unknown>[] | number): unknown {
  switch (c.kind) {
    case 'many':
      return rows;
    case 'count':
      return rows;
    case 'maybe':
      return (rows as unknown[])[0] ?? null;
    case 'one': {
      const list = rows as unknown[];
      if (list.length !== 1) {
        throw new Error(`Statement ${c.name} returned ${list.length} rows where it expects one`);
      }
      return list[0];
    }
  }
}
