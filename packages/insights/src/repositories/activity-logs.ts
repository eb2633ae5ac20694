import {
  type DomainContext,
  KEYSET_PARAMS,
  keyset,
  optionalText,
  type Page,
  requirePlainObject,
  requireText,
  run,
  runMany,
  statement,
  ValidationError,
} from '@exora/core';
import { and, desc } from 'drizzle-orm';
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
  KEYSET_PARAMS,
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), keyset.before(t.createdAt, t.id, $)))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

export interface ActivityLogInput {
  action: string;
  entityType?: string | null;
  entityId?: string | null;
  details?: Record<string, unknown>;
  ipAddress?: string | null;
}

export type ActivityLogPage = Page<ActivityLog>;

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
      const rows = await run(ctx, listPage, {
        owner: options.userId,
        ...keyset.params(options.cursor, limit, 500),
      });
      return keyset.page(rows, limit);
    },
  };
}
