/**
 * Keyset pagination, newest first, on `(created_at, id)`: a page after the first asks only for
 * rows before the cursor's pair, which an index on `(owner, created_at, id)` serves without
 * OFFSET. The cursor is opaque to callers (base64url of the last row's time and id).
 */
import { type Column, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { ValidationError } from '../errors.ts';
import { requireUuid } from '../validate.ts';

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
