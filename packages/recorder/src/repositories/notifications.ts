import {
  type DomainContext,
  found,
  optionalText,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
} from '@exora/core';
import { and, desc, eq, sql } from 'drizzle-orm';
import {
  NOTIFICATION_SEVERITIES,
  type NotificationSeverity,
  notifications,
  type RecorderNotification,
} from '../schema/notifications.ts';
import { raiseNotification, requireRange } from './internal.ts';

const listUnread = statement.many(
  'notifications.listUnread',
  notifications,
  ['limit'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), eq(t.read, false)))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

/** Read by the acting user (a service names the user); the first reader and time are kept. */
const markRead = statement.maybe(
  'notifications.markRead',
  notifications,
  ['id', 'now'],
  ({ db, t, $, owned, owner }) =>
    db
      .update(t)
      .set({
        read: true,
        readBy: sql`case when ${t.read} then ${t.readBy} else ${owner} end`,
        readAt: sql`coalesce(${t.readAt}, ${$.bind(t.readAt, 'now')})`,
      })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

/** Admin alerts about the organization's workflows. */
export function createRecorderNotificationsRepository(ctx: DomainContext) {
  return {
    /** Raises an alert about one of the organization's workflows. */
    async create(input: {
      workflowId: string;
      type: string;
      severity?: NotificationSeverity;
      title: string;
      message: string;
      actionUrl?: string | null;
    }): Promise<RecorderNotification> {
      const given = requirePlainObject(input, 'input');
      const workflowId = requireUuid(given.workflowId, 'workflowId');
      return raiseNotification(ctx, workflowId, {
        type: requireText(given.type, 'type', { max: 100 }),
        severity:
          given.severity === undefined
            ? 'info'
            : requireOneOf(given.severity, 'severity', NOTIFICATION_SEVERITIES),
        title: requireText(given.title, 'title', { max: 500 }),
        message: requireText(given.message, 'message', { max: 10_000 }),
        actionUrl: optionalText(given.actionUrl, 'actionUrl', { max: 4_000 }) ?? null,
      });
    },

    /** The organization's unread notifications, newest first (`limit` default 50, at most 200). */
    async listUnread(options: { limit?: number; organizationId?: string } = {}) {
      const limit = options.limit ?? 50;
      requireRange(limit, 'limit', 200);
      return run(ctx, listUnread, { limit, organizationId: options.organizationId });
    },

    /** Marks it read by the acting user (a service names the user); NotFoundError if none. */
    async markRead(id: string, userId?: string): Promise<RecorderNotification> {
      return found(
        'notification',
        run(ctx, markRead, { id: requireUuid(id, 'id'), owner: userId, now: new Date() }),
      );
    },
  };
}

export type RecorderNotificationsRepository = ReturnType<
  typeof createRecorderNotificationsRepository
>;
