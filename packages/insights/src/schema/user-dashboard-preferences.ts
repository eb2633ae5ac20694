import { createdAt, id, json, ownedByUser, table, text, updatedAt, uuid } from '@exora/core';
import { users } from '@exora/identity/schema';

/** How the user likes their dashboard laid out (one row per user). */
export const userDashboardPreferences = table(
  'user_dashboard_preferences',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .unique('user_dashboard_preferences_user_unique')
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    layout: json<Record<string, unknown>>().notNull().default({}),
    theme: text().notNull().default('system'),
    defaultView: text().notNull().default('overview'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByUser(t.userId)],
);

export type UserDashboardPreferences = typeof userDashboardPreferences.pg.$inferSelect;
