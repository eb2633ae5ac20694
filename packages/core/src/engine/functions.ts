/**
 * SQL that differs by dialect, behind one name each, so statements stay dialect-free
 * (a domain never branches on the dialect).
 */
import { type Column, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Dialect } from '../database.ts';

export interface DialectFunctions {
  /**
   * A value typed as `column` where nothing else types it (the select list of an
   * `insert ... select`): a cast on Postgres, the value itself on SQLite.
   */
  as(value: SQL | Placeholder, column: Column): SQL;
  /** A `textArray()` column with `value` appended unless already there. */
  arrayAppendDistinct(column: Column, value: SQL | Placeholder): SQL;
  /** Whether a `textArray()` column contains `value` (a GIN index serves it on Postgres). */
  arrayContains(column: Column, value: SQL | Placeholder): SQL;
  /**
   * Whether a `json()` object column holds every top-level key of `value` (a JSON object of
   * strings, numbers and booleans) with that value: `@>`, which a GIN index serves, on Postgres.
   */
  jsonContains(column: Column, value: SQL | Placeholder): SQL;
  /** A `json()` object column with the top-level keys of `value` (a JSON object) set. */
  jsonMerge(column: Column, value: SQL): SQL;
  /**
   * Whole milliseconds from one timestamp to another, never below 0 (a clock that stepped back
   * gives 0). Both must be non-null.
   */
  msBetween(from: SQL | Column, to: SQL | Column): SQL<number | null>;
  /** The UTC calendar day of a timestamp column, as `YYYY-MM-DD` text. */
  utcDay(column: Column): SQL<string>;
  /** `column + delta` for a counter, `delta` a number placeholder. */
  add(column: Column, delta: SQL | Placeholder): SQL;
  /**
   * A `json()` array of objects without the elements whose `key` property equals `value`
   * (compared as text).
   */
  jsonArrayRemoveBy(column: Column, key: string, value: SQL | Placeholder): SQL;
  /**
   * A `json()` array of objects with `element` (JSON text of an object) appended after removing
   * the elements whose `key` property equals `value`: an idempotent "put" into a list.
   */
  jsonArrayPutBy(
    column: Column,
    key: string,
    value: SQL | Placeholder,
    element: SQL | Placeholder,
  ): SQL;
  /** A JSON array holding `element` (JSON text of an object): an insert's first value. */
  jsonArrayOf(element: SQL | Placeholder): SQL;
  /**
   * The 1-based position of `value` in `list` (a parameter holding a JSON array of strings),
   * null when it is not there: one statement can renumber rows by a list the caller gives.
   */
  jsonArrayPosition(list: SQL | Placeholder, value: SQL | Column): SQL;
  /**
   * A select that claims rows for the rest of its transaction, skipping rows another transaction
   * claimed (queues, schedulers): `FOR UPDATE SKIP LOCKED` on Postgres. On SQLite the select
   * itself, unchanged: a writer there holds the whole database (an immediate transaction, or the
   * one statement it is part of), so no other writer can claim the same rows meanwhile.
   */
  skipLocked<Q extends object>(query: Q): Q;
}

export function dialectFunctions(dialect: Dialect): DialectFunctions {
  if (dialect === 'postgres') {
    return {
      as: (v, c) =>
        sql`cast(${v} as ${sql.raw((c as unknown as { getSQLType(): string }).getSQLType())})`,
      arrayAppendDistinct: (c, v) =>
        sql`case when ${v}::text = any(${c}) then ${c} else array_append(${c}, ${v}::text) end`,
      arrayContains: (c, v) => sql`${c} @> array[${v}::text]`,
      jsonContains: (c, v) => sql`${c} @> ${v}::jsonb`,
      jsonMerge: (c, v) => sql`(${c} || ${v}::jsonb)`,
      msBetween: (from, to) =>
        sql<
          number | null
        >`greatest(0, round(extract(epoch from (${to} - ${from})) * 1000))::integer`,
      utcDay: (c) => sql<string>`to_char(${c} at time zone 'UTC', 'YYYY-MM-DD')`,
      add: (c, d) => sql`(${c} + ${d})`,
      jsonArrayRemoveBy: (c, key, v) => pgRemove(c, key, v),
      jsonArrayPutBy: (c, key, v, e) =>
        sql`(${pgRemove(c, key, v)} || jsonb_build_array(${e}::jsonb))`,
      jsonArrayOf: (e) => sql`jsonb_build_array(${e}::jsonb)`,
      jsonArrayPosition: (list, v) =>
        sql`(select e.n::integer from jsonb_array_elements_text(${list}::jsonb) with ordinality e(v, n) where e.v = ${v}::text limit 1)`,
      skipLocked: (q) =>
        (q as unknown as { for(s: string, o: object): typeof q }).for('update', {
          skipLocked: true,
        }),
    };
  }
  return {
    as: (v) => sql`${v}`,
    arrayAppendDistinct: (c, v) =>
      sql`case when exists (select 1 from json_each(${c}) where value = ${v}) then ${c} else json_insert(${c}, '$[#]', ${v}) end`,
    arrayContains: (c, v) => sql`exists (select 1 from json_each(${c}) where value = ${v})`,
    // Booleans are compared by type too: json_each gives true and false as 1 and 0.
    jsonContains: (c, v) =>
      sql`not exists (select 1 from json_each(${v}) m where not exists (select 1 from json_each(${c}) e where e.key = m.key and e.type = m.type and e.atom = m.atom))`,
    msBetween: (from, to) => sql<number | null>`max(0, ${to} - ${from})`,
    // json_patch would merge nested objects too; this sets top-level keys only, like jsonb `||`.
    // json_each gives true and false as 1 and 0 (type 'true' / 'false'): they are turned back.
    jsonMerge: (c, v) =>
      sql`(select json_group_object(key, case when type in ('object', 'array', 'true', 'false') then json(case type when 'true' then 'true' when 'false' then 'false' else value end) else value end) from (select key, value, type from json_each(${c}) where key not in (select key from json_each(${v})) union all select key, value, type from json_each(${v})))`,
    // Timestamps are integer milliseconds on SQLite.
    utcDay: (c) => sql<string>`strftime('%Y-%m-%d', ${c} / 1000, 'unixepoch')`,
    add: (c, d) => sql`(${c} + ${d})`,
    jsonArrayRemoveBy: (c, key, v) => sqliteRemove(c, key, v),
    jsonArrayPutBy: (c, key, v, e) =>
      sql`json_insert(${sqliteRemove(c, key, v)}, '$[#]', json(${e}))`,
    jsonArrayOf: (e) => sql`json_array(json(${e}))`,
    jsonArrayPosition: (list, v) =>
      sql`(select e.key + 1 from json_each(${list}) e where e.value = ${v} limit 1)`,
    skipLocked: (q) => q,
  };
}

/** A property name written into the SQL text: a plain identifier, checked when the statement is built. */
function property(key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`Not a JSON property name: ${key}`);
  return key;
}

const pgRemove = (c: Column, key: string, v: SQL | Placeholder) =>
  sql`coalesce((select jsonb_agg(e) from jsonb_array_elements(${c}) e where (e ->> ${sql.raw(`'${property(key)}'`)}) is distinct from (${v})::text), '[]'::jsonb)`;

const sqliteRemove = (c: Column, key: string, v: SQL | Placeholder) =>
  sql`(select json_group_array(json(e.value)) from json_each(${c}) e where json_extract(e.value, ${sql.raw(`'$.${property(key)}'`)}) is not ${v})`;
