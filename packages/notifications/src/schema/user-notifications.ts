import {
  boolean,
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  timestamp,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/** In-app notifications: newest first, read or unread. */
export const userNotifications = table(
  'user_notifications',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    type: text().notNull(),
    title: text().notNull(),
    body: text(),
    data: json<Record<string, unknown>>().notNull().default({}),
    isRead: boolean().notNull().default(false),
    readAt: timestamp(),
    createdAt: createdAt(),
  },
  (t) => [
    // The list (newest first, keyset on created_at and id) and the unread count.
    index('user_notifications_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('user_notifications_user_unread_idx').on(t.userId, t.isRead),
    ownedByUser(t.userId),
  ],
);

export type UserNotification = typeof userNotifications.pg.$inferSelect;
export type NewUserNotification = typeof userNotifications.pg.$inferInsert;
