/**
 * `db:copy`: every table of the platform from one database to another, of either dialect.
 *
 * Everything comes from the schema's metadata, so a table added tomorrow is copied without a
 * change here: the kit tables (their columns and each column's kind), their foreign keys (the
 * order: parents before children; a table that references itself is read parents first), and
 * the reference data `db:push` seeds. Values are read raw from the source driver, turned into one
 * canonical form per kit kind (uuid and text as strings, numbers, booleans, timestamps as epoch
 * milliseconds, JSON as parsed values, text arrays as string arrays), and written in the
 * target's form: `COPY ... FROM STDIN` on Postgres, a prepared insert on SQLite.
 *
 * The whole copy is one transaction on the target: its user triggers are off while it runs
 * (Postgres `DISABLE TRIGGER USER`, SQLite triggers dropped and recreated), so the rows arrive
 * exactly as they were (no `updated_at` touched, no statistics recounted); on Postgres its
 * indexes and keys are dropped for the writes and made again after them, as `pg_restore` does.
 * Before committing, every table is read back from the target and its row count and checksum
 * (an order-independent sum of a hash per row's COPY text line) compared with the source's; any
 * difference rolls everything back. Ciphertexts move unchanged: their associated data is table, column and row identity,
 * the same strings on both dialects.
 */
import * as crypto from 'node:crypto';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type AnyTable,
  type ColumnKind,
  connect,
  type Dialect,
  isPostgresUrl,
  poolOptionsFromEnv,
  redactUrl,
  splitPoolerParameter,
  sqliteFilename,
} from '@exora/core';
import BetterSqlite3 from 'better-sqlite3';
import { getTableConfig } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { ConnectionError, CopyError, MigrationError, reason } from './errors.ts';
import { status } from './migrator.ts';
import type { SchemaSource } from './source.ts';

interface CopyProgress {
  table: string;
  done: number;
  total: number;
}

export interface CopyOptions {
  from: string;
  to: string;
  /** The migrations root both databases must be at the head of. */
  dir: string;
  source: SchemaSource;
  /** Delete every row of the target first instead of refusing a target that holds rows. */
  truncate?: boolean;
  /** Rows per read and per write (default 5000). */
  batchSize?: number;
  onProgress?: (progress: CopyProgress) => void;
}

interface TableReport {
  table: string;
  rows: number;
  checksum: string;
}

export interface CopyResult {
  from: string;
  to: string;
  tables: TableReport[];
  rows: number;
  /** Wall time of the copy itself (reading, writing and verifying), in milliseconds. */
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// What is copied: tables in foreign-key order, columns with their kit kinds.

interface CopyColumn {
  name: string;
  kind: ColumnKind;
  pgEnum: boolean;
}

export interface CopyTable {
  name: string;
  columns: CopyColumn[];
  /** Primary-key column names (for reference rows). */
  primaryKey: string[];
  /** A foreign key of the table to itself: rows are read parents first. */
  selfReference: { column: string; references: string } | undefined;
}

/** The kit tables of the schema, parents before children (by their foreign keys). */
export function copyPlan(tables: readonly AnyTable[]): CopyTable[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const parents = new Map<string, Set<string>>();
  const self = new Map<string, CopyTable['selfReference']>();
  for (const t of tables) {
    const deps = new Set<string>();
    for (const fk of getTableConfig(t.pg).foreignKeys) {
      const ref = fk.reference();
      const target = getTableConfig(ref.foreignTable).name;
      if (target === t.name) {
        if (ref.columns.length !== 1) {
          throw new CopyError(`${t.name} references itself through several columns: not supported`);
        }
        const [column] = ref.columns;
        const [references] = ref.foreignColumns;
        if (column && references) {
          self.set(t.name, { column: column.name, references: references.name });
        }
      } else if (byName.has(target)) {
        deps.add(target);
      }
    }
    parents.set(t.name, deps);
  }
  const ordered: AnyTable[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      throw new CopyError(
        `foreign keys form a cycle (${[...path, name].join(' -> ')}): not supported`,
      );
    }
    state.set(name, 'visiting');
    for (const p of parents.get(name) ?? []) visit(p, [...path, name]);
    state.set(name, 'done');
    const table = byName.get(name);
    if (table) ordered.push(table);
  };
  for (const t of tables) visit(t.name, []);
  return ordered.map((t) => {
    const name = t.name;
    const config = getTableConfig(t.pg);
    const primaryKey = config.columns.filter((c) => c.primary).map((c) => c.name);
    for (const pk of config.primaryKeys) for (const c of pk.columns) primaryKey.push(c.name);
    return {
      name,
      columns: t.meta.columns.map((c) => ({
        name: c.name,
        kind: c.meta.kind,
        pgEnum: c.meta.pgEnumName !== undefined,
      })),
      primaryKey,
      selfReference: self.get(name),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Canonical values: one form per kit kind, whichever dialect they came from.

type Canonical = string | number | boolean | null | unknown[] | Record<string, unknown>;
type FromDriver = (value: unknown) => Canonical;
type ToDriver = (value: Canonical) => unknown;

const identity = (v: unknown) => v as Canonical;

/** `fns[i](row[i])` for every column: one row converted. */
function mapRow<T, U>(fns: readonly ((value: T) => U)[], row: readonly unknown[]): U[] {
  const out = new Array<U>(fns.length);
  let i = 0;
  for (const f of fns) {
    out[i] = f(row[i] as T);
    i++;
  }
  return out;
}

/** A raw SQLite value (better-sqlite3) of a column of `kind` in canonical form. */
function fromSqlite(kind: ColumnKind): FromDriver {
  switch (kind) {
    case 'boolean':
      return (v) => (v === null ? null : v === 1 || v === true);
    case 'json':
    case 'textArray':
      return (v) => (v === null ? null : (JSON.parse(v as string) as Canonical));
    default:
      return identity;
  }
}

/** A raw Postgres value (postgres.js, as `selectList` reads it) in canonical form. */
function fromPostgres(kind: ColumnKind): FromDriver {
  switch (kind) {
    case 'json':
      return (v) => (v === null ? null : (JSON.parse(v as string) as Canonical));
    case 'timestamp':
    case 'bigint':
      return (v) => (v === null ? null : Number(v));
    default:
      return identity;
  }
}

/** The select expression that reads a column as `fromPostgres` expects it. */
function pgSelect(column: CopyColumn): string {
  const c = `"${column.name}"`;
  switch (column.kind) {
    case 'timestamp':
      return `round(extract(epoch from ${c}) * 1000)::float8`;
    case 'json':
      return `${c}::text`;
    case 'bigint':
      return `${c}::float8`;
    case 'uuid':
      return `${c}::text`;
    case 'enum':
      return column.pgEnum ? `${c}::text` : c;
    default:
      return c;
  }
}

/**
 * The select expression that reads a column of a Postgres end as text for `pgLineField`: the
 * read-back for the checksum takes no value through a driver type (no Date, no number).
 */
function pgTextSelect(column: CopyColumn): string {
  const c = `"${column.name}"`;
  switch (column.kind) {
    case 'timestamp':
      // `toISOString`'s form (the copy's own), from the stored milliseconds.
      return `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
    case 'textArray':
      return `array_to_json(${c})::text`;
    default:
      return `${c}::text`;
  }
}

/** A column's `pgTextSelect` text as the field `toCopyText` writes for its canonical value. */
function pgLineField(kind: ColumnKind): (text: string | null) => string {
  switch (kind) {
    case 'boolean':
      return (v) => (v === null ? '\\N' : v === 'true' ? 't' : 'f');
    case 'timestamp':
    case 'integer':
    case 'uuid':
      return (v) => v ?? '\\N';
    case 'bigint':
    case 'real':
      return (v) => (v === null ? '\\N' : String(Number(v)));
    case 'json':
      return (v) => (v === null ? '\\N' : copyEscape(stableJson(JSON.parse(v))));
    case 'textArray':
      return (v) => (v === null ? '\\N' : copyEscape(arrayLiteral(JSON.parse(v))));
    default:
      return (v) => (v === null ? '\\N' : copyEscape(v));
  }
}

function toSqlite(kind: ColumnKind): ToDriver {
  switch (kind) {
    case 'boolean':
      return (v) => (v === null ? null : v ? 1 : 0);
    case 'json':
    case 'textArray':
      return (v) => (v === null ? null : JSON.stringify(v));
    default:
      return identity;
  }
}

/** COPY text format: backslash, tab, newline and carriage return escaped. */
function copyEscape(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (ch) =>
        ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r',
      )
    : text;
}

/** A Postgres array literal of strings (`{"a","b"}`). */
function arrayLiteral(items: readonly unknown[]): string {
  return `{${items
    .map((s) => (s === null ? 'NULL' : `"${String(s).replace(/["\\]/g, (ch) => `\\${ch}`)}"`))
    .join(',')}}`;
}

/**
 * A canonical value as one field of a COPY text row (`\N` for null). One form per value (JSON
 * with its keys sorted), so the line is also what the checksum hashes.
 */
function toCopyText(kind: ColumnKind): (value: Canonical) => string {
  switch (kind) {
    case 'boolean':
      return (v) => (v === null ? '\\N' : v ? 't' : 'f');
    case 'timestamp':
      return (v) => (v === null ? '\\N' : new Date(v as number).toISOString());
    case 'json':
      return (v) => (v === null ? '\\N' : copyEscape(stableJson(v)));
    case 'textArray':
      return (v) => (v === null ? '\\N' : copyEscape(arrayLiteral(v as unknown[])));
    case 'integer':
    case 'bigint':
    case 'real':
      return (v) => (v === null ? '\\N' : String(v));
    default:
      return (v) => (v === null ? '\\N' : copyEscape(String(v)));
  }
}

/** True for values JSON.stringify writes the same way wherever they are (no object). */
const scalar = (v: unknown) => v === null || typeof v !== 'object';
/** An array-index key: objects list those first, whatever order they were set in. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * JSON with object keys sorted: jsonb keeps no key order, so the checksum must not either.
 * Arrays and objects holding no object or array are written by JSON.stringify itself (an object
 * rebuilt in key order first, unless it has array-index keys), the common case.
 */
function stableJson(value: unknown): string {
  if (scalar(value)) return JSON.stringify(value);
  if (Array.isArray(value)) {
    return value.every(scalar) ? JSON.stringify(value) : `[${value.map(stableJson).join(',')}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  let flat = true;
  let ordered = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (!scalar(object[key])) flat = false;
    if (i > 0 && (keys[i - 1] as string) > key) ordered = false;
  }
  if (flat && ordered) return JSON.stringify(object);
  keys.sort();
  if (flat && !keys.some((k) => INDEX_KEY.test(k))) {
    // No prototype: a `__proto__` key stays a plain property.
    const sorted: Record<string, unknown> = Object.create(null);
    for (const key of keys) sorted[key] = object[key];
    return JSON.stringify(sorted);
  }
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(object[k])}`).join(',')}}`;
}

/** A table's rows as COPY text lines, one function per column kind, built once per table. */
function lineEncoder(table: CopyTable): (row: readonly Canonical[]) => string {
  const encode = table.columns.map((c) => toCopyText(c.kind));
  const n = encode.length;
  // One join per row: many `+=` leave a rope that hashing and the socket must flatten again.
  const fields = new Array<string>(n);
  return (row) => {
    for (let i = 0; i < n; i++) {
      fields[i] = (encode[i] as (v: Canonical) => string)(row[i] as Canonical);
    }
    return fields.join('\t');
  };
}

// One call per row: `crypto.hash` (Node 20.12+) skips the Hash object `createHash` makes.
const sha1: (text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha1', text, 'buffer') as unknown as Buffer
    : (text) => crypto.createHash('sha1').update(text).digest();

/**
 * An order-independent checksum of a table's canonical rows: the sum (mod 2^64, as two 32-bit
 * halves) of the first 8 bytes of the SHA-1 of each row's COPY text line (`lineEncoder`: every
 * value in one form, JSON keys sorted), with the row count.
 */
class Checksum {
  private low = 0;
  private high = 0;
  rows = 0;
  add(line: string): void {
    const h = sha1(line);
    this.low = (this.low + h.readUInt32LE(0)) >>> 0;
    this.high = (this.high + h.readUInt32LE(4)) >>> 0;
    this.rows++;
  }
  toString(): string {
    return `${this.rows}:${this.high.toString(16).padStart(8, '0')}${this.low.toString(16).padStart(8, '0')}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The two ends.

interface End {
  readonly dialect: Dialect;
  readonly safeUrl: string;
  /** Every row of `table` in canonical form, in batches (a self-referencing table parents first). */
  read(table: CopyTable, batchSize: number): AsyncIterable<Canonical[][]>;
  /** The same rows as COPY text lines (`lineEncoder`'s), in batches, for the checksum. */
  lines(table: CopyTable, batchSize: number): AsyncIterable<string[]>;
  count(table: CopyTable): Promise<number>;
  /** Primary keys of the table's rows, as text (for reference-data tables). */
  keys(table: CopyTable): Promise<string[]>;
}

/** Rows in canonical form and the same rows as COPY text lines. */
interface Batch {
  rows: Canonical[][];
  lines: string[];
}

interface TargetEnd extends End {
  /** Inside the target's transaction: triggers off, RLS service mode. */
  begin(tables: readonly CopyTable[]): Promise<void>;
  remove(tables: readonly CopyTable[]): Promise<void>;
  write(table: CopyTable, batches: AsyncIterable<Batch>): Promise<void>;
  /** After every write, before the read-back: what `begin` deferred is back and checked. */
  settle(): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** `select <columns> from <table>`, parents first for a self-referencing table. */
function selectRows(table: CopyTable, list: string): string {
  const ref = table.selfReference;
  if (!ref) return `select ${list} from ${q(table.name)}`;
  const [c, p] = [q(ref.column), q(ref.references)];
  return (
    `with recursive tree(k, depth) as (select ${p}, 0 from ${q(table.name)} where ${c} is null ` +
    `union all select t.${p}, tree.depth + 1 from ${q(table.name)} t join tree on t.${c} = tree.k) ` +
    `select ${list} from ${q(table.name)} t0 join tree on t0.${p} = tree.k order by tree.depth`
  );
}

function qualified(table: CopyTable, list: (c: CopyColumn) => string): string {
  return table.columns
    .map((c) =>
      table.selfReference ? list(c).replaceAll(`"${c.name}"`, `t0."${c.name}"`) : list(c),
    )
    .join(', ');
}

class SqliteEnd implements TargetEnd {
  readonly dialect = 'sqlite' as const;
  readonly safeUrl: string;
  private readonly db: BetterSqlite3.Database;
  private triggers: { name: string; sql: string }[] = [];
  constructor(url: string, mustExist: boolean) {
    const file = sqliteFilename(url);
    if (file !== ':memory:' && mustExist && !existsSync(file)) {
      throw new ConnectionError(`No SQLite database at ${file}: run \`pnpm db:push\` first.`);
    }
    this.safeUrl = file;
    this.db = new BetterSqlite3(file, { fileMustExist: file !== ':memory:' });
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
  }

  async *read(table: CopyTable, batchSize: number): AsyncIterable<Canonical[][]> {
    const convert = table.columns.map((c) => fromSqlite(c.kind));
    const stmt = this.db
      .prepare(
        selectRows(
          table,
          qualified(table, (c) => q(c.name)),
        ),
      )
      .raw(true);
    let batch: Canonical[][] = [];
    for (const raw of stmt.iterate() as IterableIterator<unknown[]>) {
      batch.push(mapRow(convert, raw));
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async *lines(table: CopyTable, batchSize: number): AsyncIterable<string[]> {
    const encode = lineEncoder(table);
    for await (const rows of this.read(table, batchSize)) yield rows.map(encode);
  }

  async count(table: CopyTable): Promise<number> {
    return (
      (this.db
        .prepare(`select count(*) from ${q(table.name)}`)
        .pluck()
        .get() as number) ?? 0
    );
  }

  async keys(table: CopyTable): Promise<string[]> {
    const list = table.primaryKey.map(q).join(` || '/' || `);
    return this.db
      .prepare(`select ${list} from ${q(table.name)}`)
      .pluck()
      .all() as string[];
  }

  /** A read snapshot for the whole copy (WAL keeps it while writers go on). */
  snapshot(): void {
    this.db.exec('begin');
    this.db.prepare('select 1 from sqlite_master limit 1').get();
  }

  async begin(): Promise<void> {
    this.db.exec('begin immediate');
    this.triggers = this.db
      .prepare(`select name, sql from sqlite_master where type = 'trigger' and sql is not null`)
      .all() as { name: string; sql: string }[];
    for (const t of this.triggers) this.db.exec(`drop trigger ${q(t.name)}`);
  }

  async remove(tables: readonly CopyTable[]): Promise<void> {
    for (const t of [...tables].reverse()) this.db.exec(`delete from ${q(t.name)}`);
  }

  async write(table: CopyTable, batches: AsyncIterable<Batch>): Promise<void> {
    const convert = table.columns.map((c) => toSqlite(c.kind));
    const stmt = this.db.prepare(
      `insert into ${q(table.name)} (${table.columns.map((c) => q(c.name)).join(', ')}) values (${table.columns.map(() => '?').join(', ')})`,
    );
    for await (const batch of batches) {
      for (const row of batch.rows) {
        stmt.run(mapRow(convert, row));
      }
    }
  }

  /** Foreign keys are checked at commit (`foreign_key_check`). */
  async settle(): Promise<void> {}

  async commit(_tables?: readonly CopyTable[]): Promise<void> {
    for (const t of this.triggers) this.db.exec(t.sql);
    const broken = this.db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new CopyError(`${broken.length} rows break a foreign key`);
    this.db.exec('commit');
  }

  async rollback(): Promise<void> {
    if (this.db.inTransaction) this.db.exec('rollback');
  }

  close(): void {
    if (this.db.inTransaction) this.db.exec('rollback');
    this.db.close();
  }
}

class PostgresEnd implements TargetEnd {
  readonly dialect = 'postgres' as const;
  readonly safeUrl: string;
  private readonly sql: postgres.Sql;
  /** The connection of the copy's transaction (or of the source's snapshot). */
  private tx: postgres.ReservedSql | undefined;
  constructor(url: string) {
    // Behind a transaction-mode pooler (`?pooler=transaction`, which is not sent, or
    // DATABASE_POOLER), the engine's settings: no named statements, nothing pipelined.
    const split = splitPoolerParameter(url);
    const pooled = (split.pooler ?? poolOptionsFromEnv().pooler) === 'transaction';
    this.safeUrl = redactUrl(split.url);
    this.sql = postgres(split.url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: 10,
      ...(pooled ? { prepare: false, max_pipeline: 0 } : {}),
    });
  }

  private get conn(): postgres.Sql {
    return (this.tx ?? this.sql) as postgres.Sql;
  }

  async *read(table: CopyTable, batchSize: number): AsyncIterable<Canonical[][]> {
    const convert = table.columns.map((c) => fromPostgres(c.kind));
    const text = selectRows(table, qualified(table, pgSelect));
    for await (const rows of this.conn.unsafe(text).values().cursor(batchSize)) {
      const batch = new Array<Canonical[]>(rows.length);
      for (let r = 0; r < rows.length; r++) {
        batch[r] = mapRow(convert, rows[r] as unknown[]);
      }
      yield batch;
    }
  }

  async *lines(table: CopyTable, batchSize: number): AsyncIterable<string[]> {
    const fields = table.columns.map((c) => pgLineField(c.kind));
    const n = fields.length;
    const line = new Array<string>(n);
    const text = selectRows(table, qualified(table, pgTextSelect));
    for await (const rows of this.conn.unsafe(text).values().cursor(batchSize)) {
      const batch = new Array<string>(rows.length);
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r] as (string | null)[];
        for (let i = 0; i < n; i++) {
          line[i] = (fields[i] as (v: string | null) => string)(row[i] as string | null);
        }
        batch[r] = line.join('\t');
      }
      yield batch;
    }
  }

  async count(table: CopyTable): Promise<number> {
    const [row] = await this.conn.unsafe(`select count(*)::int as n from ${q(table.name)}`);
    return Number(row?.n ?? 0);
  }

  async keys(table: CopyTable): Promise<string[]> {
    const list = table.primaryKey.map((c) => `${q(c)}::text`).join(` || '/' || `);
    const rows = await this.conn.unsafe(`select ${list} as k from ${q(table.name)}`);
    return rows.map((r) => String(r.k));
  }

  /** The copy's transaction (a bug to use it before `begin` or `snapshot`). */
  private get open(): postgres.ReservedSql {
    if (!this.tx) throw new Error('db:copy: no transaction open');
    return this.tx;
  }

  private async start(mode: string): Promise<void> {
    this.tx = await this.sql.reserve();
    await this.tx.unsafe(mode);
    // Row-level security: the copy acts as a service (the policies let a service see every row).
    await this.tx.unsafe(`select set_config('app.service', 'on', true)`);
    // Floats as their shortest exact text (a server set to 0 would round them to 15 digits).
    await this.tx.unsafe(`set local extra_float_digits = 1`);
  }

  /** A repeatable-read snapshot for the whole copy. */
  async snapshot(): Promise<void> {
    await this.start('begin isolation level repeatable read read only');
  }

  /** Tables whose row-level security the copy lifted (FORCE, restored at commit). */
  private forced: string[] = [];
  /** The indexes and keys dropped for the writes, as `settle` makes them again. */
  private deferred: string[] = [];

  async begin(tables: readonly CopyTable[]): Promise<void> {
    await this.start('begin');
    const tx = this.open;
    // COPY FROM refuses a table whose row-level security applies to the role, and FORCE makes
    // it apply to the owner: lifted for this transaction (which holds every table's lock).
    const names = tables.map((t) => t.name);
    const forced = await tx.unsafe(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = current_schema() and c.relforcerowsecurity and c.relname = any($1)`,
      [names],
    );
    this.forced = forced.map((r) => String(r.name));
    for (const t of tables) await tx.unsafe(`alter table ${q(t.name)} disable trigger user`);
    for (const name of this.forced) {
      await tx.unsafe(`alter table ${q(name)} no force row level security`);
    }
    await this.defer(tx, names);
  }

  /**
   * What `pg_restore` does: the tables' indexes and keys are dropped for the writes (in this
   * transaction, which holds the tables) and made again by `settle` from their own definitions:
   * one sort per index and one join per foreign key instead of a btree insert per index and a
   * key lookup per row. Duplicates and dangling references fail there, and the copy with them.
   * An index a foreign key of another table needs stays, and so does a key a view depends on.
   */
  private async defer(tx: postgres.ReservedSql, names: string[]): Promise<void> {
    // Used by a foreign key of a table the copy does not take.
    const neededOutside = (index: string) => `exists (
      select 1 from pg_constraint f join pg_class ft on ft.oid = f.conrelid
      where f.contype = 'f' and f.conindid = ${index}
        and not (ft.relnamespace = n.oid and ft.relname = any($1)))`;
    const ofTables = `n.nspname = current_schema() and t.relname = any($1)`;
    const constraints = await tx.unsafe(
      `select t.relname as "table", c.conname as name, c.contype as type,
         pg_get_constraintdef(c.oid) as definition
       from pg_constraint c join pg_class t on t.oid = c.conrelid
       join pg_namespace n on n.oid = t.relnamespace
       where ${ofTables} and (c.contype = 'f' or (c.contype in ('p', 'u')
         and not ${neededOutside('c.conindid')}
         -- a view grouping by the key (its columns follow from it) cannot lose it
         and not exists (select 1 from pg_depend d where d.refclassid = 'pg_constraint'::regclass
           and d.refobjid = c.oid and d.classid = 'pg_rewrite'::regclass)))
       order by t.relname, c.conname`,
      [names],
    );
    const indexes = await tx.unsafe(
      `select i.relname as name, pg_get_indexdef(i.oid) as definition
       from pg_index x join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
       join pg_namespace n on n.oid = t.relnamespace
       where ${ofTables} and not ${neededOutside('x.indexrelid')}
         and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid and c.contype <> 'f')
       order by t.relname, i.relname`,
      [names],
    );
    const keys = constraints.filter((c) => c.type === 'f');
    const unique = constraints.filter((c) => c.type !== 'f');
    const add = (c: (typeof constraints)[number]) =>
      `alter table ${q(c.table)} add constraint ${q(c.name)} ${c.definition}`;
    // Keys first (they need the unique indexes), and made again last.
    for (const c of [...keys, ...unique]) {
      await tx.unsafe(`alter table ${q(c.table)} drop constraint ${q(c.name)}`);
    }
    for (const i of indexes) await tx.unsafe(`drop index ${q(i.name)}`);
    this.deferred = [
      ...unique.map(add),
      ...indexes.map((i) => String(i.definition)),
      ...keys.map(add),
    ];
  }

  async settle(): Promise<void> {
    for (const statement of this.deferred) await this.open.unsafe(statement);
    this.deferred = [];
  }

  async remove(tables: readonly CopyTable[]): Promise<void> {
    await this.open.unsafe(`truncate ${tables.map((t) => q(t.name)).join(', ')}`);
  }

  async write(table: CopyTable, batches: AsyncIterable<Batch>): Promise<void> {
    const columns = table.columns.map((c) => q(c.name)).join(', ');
    const stream = await this.open
      .unsafe(`copy ${q(table.name)} (${columns}) from stdin`)
      .writable();
    async function* chunks() {
      for await (const batch of batches) {
        if (batch.lines.length > 0) yield `${batch.lines.join('\n')}\n`;
      }
    }
    await pipeline(Readable.from(chunks()), stream);
  }

  async commit(tables: readonly CopyTable[] = []): Promise<void> {
    for (const t of tables) await this.open.unsafe(`alter table ${q(t.name)} enable trigger user`);
    for (const name of this.forced) {
      await this.open.unsafe(`alter table ${q(name)} force row level security`);
    }
    await this.open.unsafe('commit');
    this.release();
  }

  async rollback(): Promise<void> {
    if (!this.tx) return;
    await this.tx.unsafe('rollback').catch(() => {});
    this.release();
  }

  private release(): void {
    this.tx?.release();
    this.tx = undefined;
  }

  async close(): Promise<void> {
    await this.rollback();
    await this.sql.end({ timeout: 5 });
  }
}

type AnyEnd = SqliteEnd | PostgresEnd;

function openEnd(url: string, role: 'source' | 'target'): AnyEnd {
  try {
    return isPostgresUrl(url) ? new PostgresEnd(url) : new SqliteEnd(url, true);
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new ConnectionError(`Cannot open the ${role} ${redactUrl(url)}: ${reason(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Refusals.

/** Both databases must be at exactly this checkout's migrations (so their tables are the same). */
async function assertAtHead(url: string, dir: string, role: 'source' | 'target'): Promise<void> {
  const db = connect(url);
  try {
    const entries = await status(db, dir).catch((error: unknown) => {
      throw new ConnectionError(`Cannot read the ${role} ${db.safeUrl}: ${reason(error)}`);
    });
    const off = entries.filter((e) => e.state !== 'applied');
    if (entries.every((e) => e.appliedAt === undefined)) {
      throw new CopyError(
        `the ${role} ${db.safeUrl} was never pushed: run \`pnpm db:push --url <${role}>\` first; nothing was copied`,
      );
    }
    if (off.length > 0) {
      throw new CopyError(
        `the ${role} ${db.safeUrl} is not at this checkout's migrations (${off
          .slice(0, 3)
          .map((e) => `${e.name} ${e.state}`)
          .join(
            ', ',
          )}${off.length > 3 ? ', ...' : ''}): bring both to the same migration (pnpm db:push / db:migrate) first; nothing was copied`,
      );
    }
  } finally {
    await db.close();
  }
}

/**
 * What went wrong, without any value: the driver's error code and class only (a driver message
 * may quote the row it failed on).
 */
function safeReason(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const known: Record<string, string> = {
    '42501': 'permission denied',
    '23505': 'unique violation',
    '23503': 'foreign key violation',
    '23514': 'check violation',
    '23502': 'not-null violation',
    '22P02': 'invalid input',
    '22021': 'invalid byte sequence',
    SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign key violation',
    SQLITE_CONSTRAINT_UNIQUE: 'unique violation',
    SQLITE_CONSTRAINT_PRIMARYKEY: 'unique violation',
    SQLITE_CONSTRAINT_CHECK: 'check violation',
    SQLITE_CONSTRAINT_NOTNULL: 'not-null violation',
    SQLITE_BUSY: 'the database is locked by another process',
  };
  if (code) return known[code] ? `${known[code]}, ${code}` : `error ${code}`;
  return typeof e?.name === 'string' ? e.name : 'unknown error';
}

/**
 * Refuses a target that holds rows. Rows of reference data (what db:push seeds, by primary key)
 * do not count: the copy replaces them with the source's.
 */
async function assertEmpty(target: AnyEnd, plan: CopyTable[], source: SchemaSource) {
  const reference = new Map<string, Set<string>>();
  for (const data of source.referenceData) {
    const t = plan.find((p) => p.name === data.table.name);
    if (!t) continue;
    const pk = data.table.meta.columns.filter((c) => t.primaryKey.includes(c.name));
    const set = reference.get(t.name) ?? new Set<string>();
    for (const row of data.rows as Record<string, unknown>[]) {
      set.add(pk.map((c) => String(row[c.key]).toLowerCase()).join('/'));
    }
    reference.set(t.name, set);
  }
  const occupied: string[] = [];
  for (const t of plan) {
    const n = await target.count(t);
    if (n === 0) continue;
    const allowed = reference.get(t.name);
    if (allowed && (await target.keys(t)).every((k) => allowed.has(k.toLowerCase()))) continue;
    occupied.push(`${t.name} ${n}`);
  }
  if (occupied.length > 0) {
    throw new CopyError(
      `the target ${target.safeUrl} already holds rows (${occupied.slice(0, 3).join(', ')}${occupied.length > 3 ? ', ...' : ''}): copy into an empty database, or pass --truncate to delete them first; nothing was copied`,
    );
  }
}

function sameDatabase(a: AnyEnd, b: AnyEnd): boolean {
  return a.dialect === b.dialect && a.safeUrl === b.safeUrl;
}

/**
 * Copies every table; returns what was copied and verified. Throws `CopyError` (nothing written)
 * when the target is not at the same migration, holds rows (without `truncate`), or differs from
 * the source after the copy.
 */
export async function copyDatabase(options: CopyOptions): Promise<CopyResult> {
  const batchSize = options.batchSize ?? 5000;
  const plan = copyPlan(options.source.tables);
  const source = openEnd(options.from, 'source');
  let target: AnyEnd | undefined;
  try {
    target = openEnd(options.to, 'target');
    if (sameDatabase(source, target)) {
      throw new CopyError('--from and --to are the same database; nothing was copied');
    }
    await assertAtHead(options.from, options.dir, 'source');
    await assertAtHead(options.to, options.dir, 'target');

    const started = performance.now();
    await source.snapshot();
    const taken = target;
    await target.begin(plan).catch((error: unknown) => {
      throw new CopyError(
        `cannot take the target ${taken.safeUrl} for the copy (${safeReason(error)}): run db:copy as the role that owns the tables (the migration owner, as for db:push); nothing was copied`,
      );
    });
    const reports: TableReport[] = [];
    let current = '';
    try {
      if (!options.truncate) await assertEmpty(target, plan, options.source);
      await target.remove(plan);
      const sums = new Map<string, string>();
      for (const t of plan) {
        current = t.name;
        const total = await source.count(t);
        const sum = new Checksum();
        const encode = lineEncoder(t);
        let done = 0;
        let lastShown = 0;
        options.onProgress?.({ table: t.name, done: 0, total });
        // Each row is encoded once: the line is hashed and, into Postgres, written as it is.
        const counted = async function* (batches: AsyncIterable<Canonical[][]>) {
          for await (const rows of batches) {
            const lines = new Array<string>(rows.length);
            for (let r = 0; r < rows.length; r++) {
              const line = encode(rows[r] as Canonical[]);
              sum.add(line);
              lines[r] = line;
            }
            done += rows.length;
            const now = performance.now();
            if (now - lastShown > 1000 && done < total) {
              lastShown = now;
              options.onProgress?.({ table: t.name, done, total });
            }
            yield { rows, lines };
          }
        };
        await target.write(t, counted(source.read(t, batchSize)));
        if (done !== total) {
          throw new CopyError(
            `${t.name}: read ${done} of ${total} rows (a cycle of self-references); nothing was copied`,
          );
        }
        if (total > 0) options.onProgress?.({ table: t.name, done, total });
        sums.set(t.name, sum.toString());
      }
      current = '';
      await target.settle();
      // Read back from the target inside its transaction: commit only what matches.
      const differences: string[] = [];
      for (const t of plan) {
        current = t.name;
        const sum = new Checksum();
        for await (const lines of target.lines(t, batchSize)) {
          for (const line of lines) sum.add(line);
        }
        const expected = sums.get(t.name) ?? '';
        reports.push({ table: t.name, rows: sum.rows, checksum: sum.toString() });
        if (sum.toString() !== expected) {
          differences.push(`${t.name} (source ${expected}, target ${sum.toString()})`);
        }
      }
      if (differences.length > 0) {
        throw new CopyError(
          `the target differs from the source after the copy in ${differences.length} table(s): ${differences.slice(0, 3).join(', ')}; nothing was copied`,
        );
      }
      current = '';
      await target.commit(plan);
    } catch (error) {
      await target.rollback();
      if (error instanceof MigrationError) throw error;
      throw new CopyError(
        `the copy failed${current ? ` at table ${current}` : ''} (${safeReason(error)}); nothing was copied`,
      );
    }
    const ms = performance.now() - started;
    return {
      from: source.safeUrl,
      to: target.safeUrl,
      tables: reports,
      rows: reports.reduce((n, r) => n + r.rows, 0),
      ms,
    };
  } finally {
    await source.close();
    await target?.close();
  }
}
