/**
 * SQL that differs by dialect, behind one name each, so statements stay dialect-free
 * (CORE.md: no `if (dialect)` in a domain).
 */
import { type Column, type Placeholder, type SQL, sql } from 'drizzle-orm';
import type { Dialect } from '../database.ts';

export interface DialectFunctions {
  /** A `textArray()` column with `value` appended unless already there. */
  arrayAppendDistinct(column: Column, value: SQL | Placeholder): SQL;
  /** Whether a `textArray()` column contains `value` (a GIN index serves it on Postgres). */
  arrayContains(column: Column, value: SQL | Placeholder): SQL;
  /** A `json()` object column with the top-level keys of `value` (a JSON object) set. */
  jsonMerge(column: Column, value: SQL): SQL;
  /** `column + delta` for a counter, `delta` a number placeholder. */
  add(column: Column, delta: SQL | Placeholder): SQL;
}

export function dialectFunctions(dialect: Dialect): DialectFunctions {
  if (dialect === 'postgres') {
    return {
      arrayAppendDistinct: (c, v) =>
        sql`case when ${v}::text = any(${c}) then ${c} else array_append(${c}, ${v}::text) end`,
      arrayContains: (c, v) => sql`${c} @> array[${v}::text]`,
      jsonMerge: (c, v) => sql`(${c} || ${v}::jsonb)`,
      add: (c, d) => sql`(${c} + ${d})`,
    };
  }
  return {
    arrayAppendDistinct: (c, v) =>
      sql`case when exists (select 1 from json_each(${c}) where value = ${v}) then ${c} else json_insert(${c}, '$[#]', ${v}) end`,
    arrayContains: (c, v) => sql`exists (select 1 from json_each(${c}) where value = ${v})`,
    // json_patch would merge nested objects too; this sets top-level keys only, like jsonb `||`.
    jsonMerge: (c, v) =>
      sql`(select json_group_object(key, case when type in ('object', 'array') then json(value) else value end) from (select key, value, type from json_each(${c}) where key not in (select key from json_each(${v})) union all select key, value, type from json_each(${v})))`,
    add: (c, d) => sql`(${c} + ${d})`,
  };
}
