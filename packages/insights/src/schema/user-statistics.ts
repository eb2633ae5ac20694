import { id, integer, ownedByUser, table, timestamp, updatedAt, uuid } from '@exora/core';
import { users } from '@exora/identity/schema';

/**
 * Counts over the user's agents and their activities, kept exact by database triggers on every
 * insert, update and delete (`statistics.ts`): read it, never write it.
 */
export const userStatistics = table(
  'user_statistics',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .unique('user_statistics_user_unique')
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    totalAgents: integer().notNull().default(0),
    activeAgents: integer().notNull().default(0),
    totalActivities: integer().notNull().default(0),
    successfulActivities: integer().notNull().default(0),
    failedActivities: integer().notNull().default(0),
    lastActivityAt: timestamp(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByUser(t.userId)],
);

export type UserStatistics = typeof userStatistics.pg.$inferSelect;
