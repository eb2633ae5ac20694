/**
 * Keyset pagination, newest first, on `(created_at, id)`: a page after the first asks only for
 * rows before the cursor's pair, which an index on `(owner, created_at, id)` serves without
 * OFFSET. The cursor is opaque to callers (base64url of the last row's time and id).
 */
import { and, type Column, desc, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { ValidationError } from '../errors.ts';
import type { AnyTable } from '../kit/table.ts';
import { requireUuid } from '../validate.ts';
import { type DomainContext, run } from './repository.ts';
import { type ParamsFor, type Statement, type StatementOptions, statement } from './statement.ts';

/** The parameters a keyset statement declares. */
export const KEYSET_PARAMS = ['first', 'beforeAt', 'beforeId', 'limit'] as const;

/** Any uuid: a value for `beforeId` on the first page, where the condition is not used. */
const NO_ID = '00000000-0000-0000-0000-000000000000';

export interface Page<T> {
  items: T[];
  /** Pass to the next call; null on the last page. */
  nextCursor: string | null;
}

export const keyset = {
  /**
   * The condition of a keyset statement: every row on the first page, else rows strictly before
   * the cursor. `$` is the statement's placeholders (with `KEYSET_PARAMS` declared).
   */
  before(
    createdAt: Column,
    id: Column,
    $: { first: Placeholder; beforeId: Placeholder; bind(column: Column, name: 'beforeAt'): SQL },
  ): SQL {
    const at = $.bind(createdAt, 'beforeAt');
    return sql`(${$.first} = ${true} or ${createdAt} < ${at} or (${createdAt} = ${at} and ${id} < ${$.beforeId}))`;
  },

  /** The statement's parameters for a page of `limit` (one more row is read to see if more follow). */
  params(cursor: string | null | undefined, limit: number, max: number) {
    if (!Number.isInteger(limit) || limit < 1 || limit > max) {
      throw new ValidationError('limit', `must be an integer from 1 to ${max}`);
    }
    const after = cursor ? decode(cursor) : undefined;
    return {
      first: after === undefined,
      beforeAt: after?.at ?? new Date(0),
      beforeId: after?.id ?? NO_ID,
      limit: limit + 1,
    };
  },

  /**
   * The statement of the actor's rows of `table` (a table with `created_at` and `id`), newest
   * first, one page from a cursor: what a plain "list mine" needs, declared once per table.
   */
  newestFirst<T extends AnyTable>(
    name: string,
    table: T,
    options: StatementOptions = {},
  ): Statement<ParamsFor<(typeof KEYSET_PARAMS)[number]>, T['pg']['$inferSelect'][]> {
    return statement.many(
      name,
      table,
      KEYSET_PARAMS,
      ({ db, t, $, owned }) => {
        const c = t as unknown as { createdAt: Column; id: Column };
        return db
          .select()
          .from(t as AnyTable['pg'])
          .where(and(owned(), keyset.before(c.createdAt, c.id, $)))
          .orderBy(desc(c.createdAt), desc(c.id))
          .limit($.limit);
      },
      options,
    ) as never;
  },

  /**
   * A page of a keyset statement: `limit` rows (default 20, at most `max`) from `cursor` on,
   * and the cursor after them.
   */
  async list<R extends { createdAt: Date; id: string }>(
    ctx: DomainContext,
    stmt: Statement<ParamsFor<(typeof KEYSET_PARAMS)[number]>, R[]>,
    options: { limit?: number; cursor?: string | null } = {},
    max = 100,
  ): Promise<Page<R>> {
    const limit = options.limit ?? 20;
    return keyset.page(await run(ctx, stmt, keyset.params(options.cursor, limit, max)), limit);
  },

  /** The page of `limit` from the rows a statement returned, and the cursor after it. */
  page<T extends { createdAt: Date; id: string }>(rows: T[], limit: number): Page<T> {
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextCursor:
        rows.length > limit && last
          ? Buffer.from(`${last.createdAt.getTime()}:${last.id}`).toString('base64url')
          : null,
    };
  },
};

function decode(cursor: unknown): { at: Date; id: string } {
  if (typeof cursor !== 'string') throw new ValidationError('cursor', 'is not a cursor');
  const [ms, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const at = new Date(Number(ms));
  if (!ms || !id || Number.isNaN(at.getTime())) {
    throw new ValidationError('cursor', 'is not a cursor from a previous page');
  }
  return { at, id: requireUuid(id, 'cursor') };
}
