import { createdAt, id, index, json, ownedByUser, table, text, uuid } from '@exora/core';
import { users } from '@exora/identity/schema';

/** An audit trail of what a user did: appended, listed newest first with a cursor. */
export const activityLogs = table(
  'activity_logs',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    action: text().notNull(),
    entityType: text(),
    entityId: text(),
    details: json<Record<string, unknown>>().notNull().default({}),
    ipAddress: text(),
    createdAt: createdAt(),
  },
  (t) => [
    index('activity_logs_user_created_idx').on(t.userId, t.createdAt, t.id),
    ownedByUser(t.userId),
  ],
);

export type ActivityLog = typeof activityLogs.pg.$inferSelect;
export type NewActivityLog = typeof activityLogs.pg.$inferInsert;
