/**
 * Column pairs: every helper returns one object that holds a pg-core builder and a
 * sqlite-core builder side by side. Modifiers apply to both, and their return types use
 * Drizzle's own brands so both sides infer the same row type.
 */
import type { $Type, ColumnBuilderBase, HasDefault, NotNull, SQL } from 'drizzle-orm';
import { sql } from 'drizzle-orm';
import * as pg from 'drizzle-orm/pg-core';
import * as sq from 'drizzle-orm/sqlite-core';

type IsPrimaryKey<T extends ColumnBuilderBase> = T & { _: { isPrimaryKey: true } };

/** The value a builder accepts and returns (its `$type` if one was set). */
export type DataOf<B extends ColumnBuilderBase> = B['_'] extends { $type: infer U }
  ? U
  : B['_']['data'];

export type OnDeleteAction = 'cascade' | 'restrict' | 'no action' | 'set null' | 'set default';

/** A reference to a column of a table pair, resolved lazily (tables may reference each other). */
export interface ColumnRef {
  readonly table: string;
  readonly key: string;
  readonly pg: pg.AnyPgColumn;
  readonly sqlite: sq.AnySQLiteColumn;
}

/** What the kit knows about a column beyond the two builders. */
export interface ColumnMeta {
  /** Values an enum column may hold; becomes a CHECK on SQLite (and on Postgres for text enums). */
  enumValues?: readonly string[];
  /** Postgres enum type name, when the column is a real `CREATE TYPE ... AS ENUM`. */
  pgEnumName?: string;
  /** `varchar(n)`: enforced by the type on Postgres and by a CHECK on SQLite. */
  maxLength?: number;
  /** `updatedAt`-style columns: the migrations add a trigger, the repositories set it too. */
  touchOnUpdate?: boolean;
  /** What the column holds on each dialect, for docs and the coverage report. */
  kind: ColumnKind;
  /**
   * An encrypted column: the engine encrypts what is written to it and decrypts what is read,
   * binding each ciphertext to its table, column and row (see `encrypted()`).
   */
  secret?: { readonly boundTo?: readonly string[] };
}

export type ColumnKind =
  | 'uuid'
  | 'text'
  | 'varchar'
  | 'integer'
  | 'bigint'
  | 'real'
  | 'boolean'
  | 'timestamp'
  | 'json'
  | 'textArray'
  | 'enum';

export class Col<P extends ColumnBuilderBase, S extends ColumnBuilderBase> {
  /** @internal */
  readonly meta: ColumnMeta;
  constructor(
    readonly pg: P,
    readonly sqlite: S,
    meta: ColumnMeta,
  ) {
    this.meta = meta;
  }

  private both(fn: (b: any) => void): this {
    fn(this.pg);
    fn(this.sqlite);
    return this;
  }

  notNull(): Col<NotNull<P>, NotNull<S>> {
    return this.both((b) => b.notNull()) as any;
  }

  primaryKey(): Col<IsPrimaryKey<NotNull<P>>, IsPrimaryKey<NotNull<S>>> {
    return this.both((b) => b.primaryKey()) as any;
  }

  /** A constant default, written the same way on both dialects. */
  default(value: DataOf<P> & DataOf<S>): Col<HasDefault<P>, HasDefault<S>> {
    return this.both((b) => b.default(value)) as any;
  }

  /** A default that is an SQL expression, which may differ by dialect. */
  defaultSql(exprs: { pg: SQL; sqlite: SQL }): Col<HasDefault<P>, HasDefault<S>> {
    (this.pg as any).default(exprs.pg);
    (this.sqlite as any).default(exprs.sqlite);
    return this as any;
  }

  /** Narrows the TypeScript type of the column (branded ids, JSON shapes). */
  $type<T>(): Col<$Type<P, T>, $Type<S, T>> {
    return this as any;
  }

  unique(name?: string): this {
    return this.both((b) => b.unique(name));
  }

  /**
   * The database sets this column to now on every update of its row (a trigger the migrations
   * app creates on both dialects), whether or not the statement sets it: a `last_seen` that a
   * heartbeat moves without the caller giving a time. Repositories never write it.
   */
  touchOnUpdate(): this {
    this.meta.touchOnUpdate = true;
    return this;
  }

  references(ref: () => ColumnRef, actions: { onDelete?: OnDeleteAction } = {}): this {
    (this.pg as any).references(() => ref().pg, actions);
    (this.sqlite as any).references(() => ref().sqlite, actions);
    return this;
  }
}

export type AnyCol = Col<ColumnBuilderBase, ColumnBuilderBase>;

// ---------------------------------------------------------------------------------------------
// Column helpers. Names are given by the table (the key, in snake_case).

/** UUID primary-key material: `uuid` on Postgres, canonical text on SQLite, random by default. */
export function uuid() {
  return new Col(pg.uuid(), sq.text(), { kind: 'uuid' });
}

/**
 * A random v4 UUID default, in SQL on both sides so raw inserts (seed scripts, psql, sqlite3)
 * get one too.
 */
export const randomUuidSql = {
  pg: sql`gen_random_uuid()`,
  sqlite: sql`(lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))))`,
};

/** The usual `id uuid primary key default gen_random_uuid()`. */
export function id() {
  return uuid().primaryKey().defaultSql(randomUuidSql);
}

export function text() {
  return new Col(pg.text(), sq.text(), { kind: 'text' });
}

/** `varchar(n)` on Postgres; SQLite ignores lengths, so it gets a CHECK on `length()`. */
export function varchar(length?: number) {
  return new Col(pg.varchar(length === undefined ? {} : { length }), sq.text(), {
    kind: 'varchar',
    ...(length === undefined ? {} : { maxLength: length }),
  });
}

export function integer() {
  return new Col(pg.integer(), sq.integer({ mode: 'number' }), { kind: 'integer' });
}

/** 64-bit integers read as JS numbers (safe up to 2^53; counters and sizes, not money). */
export function bigint() {
  return new Col(pg.bigint({ mode: 'number' }), sq.integer({ mode: 'number' }), {
    kind: 'bigint',
  });
}

export function real() {
  return new Col(pg.doublePrecision(), sq.real(), { kind: 'real' });
}

export function boolean() {
  return new Col(pg.boolean(), sq.integer({ mode: 'boolean' }), { kind: 'boolean' });
}

/** `timestamptz` on Postgres; integer milliseconds since the epoch on SQLite. Both read as Date. */
export function timestamp() {
  return new Col(
    pg.timestamp({ withTimezone: true, mode: 'date', precision: 3 }),
    sq.integer({ mode: 'timestamp_ms' }),
    { kind: 'timestamp' },
  );
}

export const nowSql = {
  pg: sql`now()`,
  sqlite: sql`(cast(unixepoch('subsec') * 1000 as integer))`,
};

/** `created_at timestamptz not null default now()`. */
export function createdAt() {
  return timestamp().notNull().defaultSql(nowSql);
}

/** `updated_at`: defaults to now; repositories and a database trigger keep it current. */
export function updatedAt() {
  const col = timestamp().notNull().defaultSql(nowSql);
  col.meta.touchOnUpdate = true;
  // SQL, not a JS Date: a statement compiled once must not carry its compile time as "now".
  (col.pg as any).$onUpdate(() => nowSql.pg);
  (col.sqlite as any).$onUpdate(() => nowSql.sqlite);
  return col;
}

/** `jsonb` on Postgres, JSON text on SQLite; typed by `T`. */
export function json<T>() {
  return new Col(pg.jsonb().$type<T>(), sq.text({ mode: 'json' }).$type<T>(), { kind: 'json' });
}

/** `text[]` on Postgres, a JSON array in text on SQLite. */
export function textArray() {
  return new Col(pg.text().array(), sq.text({ mode: 'json' }).$type<string[]>(), {
    kind: 'textArray',
  });
}

/**
 * A closed set of strings stored as text with a CHECK on both dialects
 * (what the seeds write as `TEXT (user/assistant/system)`).
 */
export function textEnum<const V extends readonly [string, ...string[]]>(values: V) {
  return new Col(pg.text({ enum: values }), sq.text({ enum: values }), {
    kind: 'enum',
    enumValues: values,
  });
}

/**
 * A Postgres enum type (`CREATE TYPE name AS ENUM`), text with a CHECK on SQLite.
 * Export the returned `.pgEnum` from the schema so drizzle-kit creates the type.
 */
export function enumType<const V extends readonly [string, ...string[]]>(name: string, values: V) {
  const pgEnum = pg.pgEnum(name, values as unknown as [V[number], ...V[number][]]);
  const column = () =>
    new Col(pgEnum(), sq.text({ enum: values }), {
      kind: 'enum',
      enumValues: values,
      pgEnumName: name,
    });
  return Object.assign(column, { pgEnum, values });
}

/**
 * A secret, stored as AES-256-GCM ciphertext text (`@exora/crypto`'s format). Declared here and
 * nowhere else: statements encrypt values written to it and decrypt it when selected, key
 * rotation finds it, and `publicColumns()` leaves it out.
 *
 * Each ciphertext is bound to its table, column and row identity: by default the row's `id` and,
 * on an owned table, its owner, so a row given to another user no longer decrypts (a legitimate
 * transfer re-encrypts). `boundTo` names other column keys when the row is found by a natural key
 * (an upsert on `(userId, provider)` keeps a valid ciphertext whichever row it lands on).
 */
export function encrypted(options: { boundTo?: readonly string[] } = {}) {
  return new Col(pg.text(), sq.text(), {
    kind: 'text',
    secret: options.boundTo ? { boundTo: options.boundTo } : {},
  });
}
