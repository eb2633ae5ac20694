import {
  type DomainContext,
  optionalText,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  runMany,
  statement,
  ValidationError,
} from '@exora/core';
import { and, desc, sql } from 'drizzle-orm';
import { type ActivityLog, activityLogs } from '../schema/activity-logs.ts';

const KEYS = ['action', 'entityType', 'entityId', 'details', 'ipAddress'] as const;

const appendLog = statement.count(
  'activityLogs.append',
  activityLogs,
  KEYS,
  ({ db, t, $, owner }) =>
    db.insert(t).values({
      userId: owner,
      action: $.action,
      entityType: $.entityType,
      entityId: $.entityId,
      details: $.details,
      ipAddress: $.ipAddress,
    }),
);

const listPage = statement.many(
  'activityLogs.list',
  activityLogs,
  ['first', 'beforeAt', 'beforeId', 'limit'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(
        and(
          owned(),
          sql`(${$.first} = ${true} or ${t.createdAt} < ${$.bind(t.createdAt, 'beforeAt')} or (${t.createdAt} = ${$.bind(t.createdAt, 'beforeAt')} and ${t.id} < ${$.beforeId}))`,
        ),
      )
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
);

export interface ActivityLogInput {
  action: string;
  entityType?: string | null;
  entityId?: string | null;
  details?: Record<string, unknown>;
  ipAddress?: string | null;
}

export interface ActivityLogPage {
  items: ActivityLog[];
  nextCursor: string | null;
}

function entry(input: ActivityLogInput, at = 'entry') {
  const given = requirePlainObject(input, at);
  return {
    action: requireText(given.action, 'action', { max: 200 }),
    entityType: optionalText(given.entityType, 'entityType', { max: 100 }) ?? null,
    entityId: optionalText(given.entityId, 'entityId', { max: 200 }) ?? null,
    details: given.details === undefined ? {} : requirePlainObject(given.details, 'details'),
    ipAddress: optionalText(given.ipAddress, 'ipAddress', { max: 64 }) ?? null,
  };
}

const encodeCursor = (row: ActivityLog) =>
  Buffer.from(`${row.createdAt.getTime()}:${row.id}`).toString('base64url');

function decodeCursor(cursor: string): { at: Date; id: string } {
  const [ms, id] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  const at = new Date(Number(ms));
  if (!ms || Number.isNaN(at.getTime()) || !id)
    throw new ValidationError('cursor', 'is not a cursor from list()');
  return { at, id: requireUuid(id, 'cursor') };
}

/** The user's audit trail: appended, never changed, listed newest first. */
export function createActivityLogsRepository(ctx: DomainContext) {
  return {
    /** Appends one entry (a service names the user). */
    async append(input: ActivityLogInput, userId?: string): Promise<void> {
      await run(ctx, appendLog, { owner: userId, ...entry(input, 'input') });
    },

    /** Appends many entries in multi-row inserts, all or nothing; returns how many. */
    async appendMany(inputs: readonly ActivityLogInput[], userId?: string): Promise<number> {
      if (!Array.isArray(inputs)) throw new ValidationError('entries', 'must be an array');
      return runMany(
        ctx,
        appendLog,
        inputs.map((input, i) => ({ owner: userId, ...entry(input, `entries[${i}]`) })),
      );
    },

    /** Newest first, `limit` (default 50, at most 500) per page, from `cursor` on. */
    async list(
      options: { limit?: number; cursor?: string | null; userId?: string } = {},
    ): Promise<ActivityLogPage> {
      const limit = options.limit ?? 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new ValidationError('limit', 'must be an integer from 1 to 500');
      }
      const after = options.cursor ? decodeCursor(options.cursor) : undefined;
      const rows = await run(ctx, listPage, {
        owner: options.userId,
        first: after === undefined,
        beforeAt: after?.at ?? new Date(0),
        beforeId: after?.id ?? '00000000-0000-0000-0000-000000000000',
        limit: limit + 1,
      });
      const items = rows.slice(0, limit);
      return { items, nextCursor: rows.length > limit ? encodeCursor(items.at(-1)!) : null };
    },
  };
}
