import {
  type DomainContext,
  found,
  KEYSET_PARAMS,
  keyset,
  optionalText,
  type Page,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
} from '@exora/core';
import { and, desc, eq, sql } from 'drizzle-orm';
import { type UserNotification, userNotifications } from '../schema/user-notifications.ts';

const createNotification = statement.one(
  'userNotifications.create',
  userNotifications,
  ['type', 'title', 'body', 'data'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({ userId: owner, type: $.type, title: $.title, body: $.body, data: $.data })
      .returning(),
);

/** A page, newest first (see `keyset`); unread ones only when asked. */
const listPage = statement.many(
  'userNotifications.list',
  userNotifications,
  [...KEYSET_PARAMS, 'unreadOnly'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(
        and(
          owned(),
          keyset.before(t.createdAt, t.id, $),
          sql`(${$.unreadOnly} = ${false} or ${t.isRead} = ${false})`,
        ),
      )
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

const unread = statement.maybe(
  'userNotifications.unreadCount',
  userNotifications,
  [],
  ({ db, t, owned }) =>
    db
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(t)
      .where(and(owned(), eq(t.isRead, false))),
  { stale: true },
);

const markOne = statement.maybe(
  'userNotifications.markRead',
  userNotifications,
  ['id', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ isRead: true, readAt: sql`coalesce(${t.readAt}, ${$.bind(t.readAt, 'now')})` })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

const markAll = statement.count(
  'userNotifications.markAllRead',
  userNotifications,
  ['now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ isRead: true, readAt: $.bind(t.readAt, 'now') })
      .where(and(owned(), eq(t.isRead, false))),
);

export type NotificationPage = Page<UserNotification>;

/** In-app notifications of a user: a service (or the user) creates them, the user reads them. */
export function createUserNotificationsRepository(ctx: DomainContext) {
  return {
    /** Notifies the user (a service names them with `userId`). */
    async create(
      input: { type: string; title: string; body?: string | null; data?: Record<string, unknown> },
      userId?: string,
    ): Promise<UserNotification> {
      const given = requirePlainObject(input, 'input');
      return run(ctx, createNotification, {
        owner: userId,
        type: requireText(given.type, 'type', { max: 100 }),
        title: requireText(given.title, 'title', { max: 500 }),
        body: optionalText(given.body, 'body', { max: 10_000 }) ?? null,
        data: given.data === undefined ? {} : requirePlainObject(given.data, 'data'),
      });
    },

    /** Newest first, `limit` (default 20, at most 100) per page, from `cursor` on. */
    async list(
      options: { limit?: number; cursor?: string | null; unreadOnly?: boolean } = {},
    ): Promise<NotificationPage> {
      const limit = options.limit ?? 20;
      const rows = await run(
        ctx,
        listPage,
        Object.assign(keyset.params(options.cursor, limit, 100), {
          unreadOnly: options.unreadOnly === true,
        }),
      );
      return keyset.page(rows, limit);
    },

    async unreadCount(): Promise<number> {
      return (await run(ctx, unread, {}))?.n ?? 0;
    },

    /** Marks one read (again: no change); NotFoundError if it is not the user's. */
    async markRead(id: string): Promise<UserNotification> {
      return found(
        'notification',
        run(ctx, markOne, { id: requireUuid(id, 'id'), now: new Date() }),
      );
    },

    /** Marks every unread one read; returns how many changed. */
    async markAllRead(): Promise<number> {
      return run(ctx, markAll, { now: new Date() });
    },
  };
}
