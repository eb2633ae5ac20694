import { createdAt, id, json, ownedByUser, table, updatedAt, uuid } from '@exora/core';
import { users } from '@exora/identity/schema';

/** A workflow shown on the user's dashboard. */
export interface DashboardWorkflow {
  instanceId: string;
  templateId: string;
  name: string;
  addedAt: string;
}

/** The user's dashboard: its widgets and the workflows activated onto it (one row per user). */
export const dashboardData = table(
  'dashboard_data',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .unique('dashboard_data_user_unique')
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    widgets: json<Record<string, unknown>[]>().notNull().default([]),
    workflows: json<DashboardWorkflow[]>().notNull().default([]),
    settings: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByUser(t.userId)],
);

export type DashboardData = typeof dashboardData.pg.$inferSelect;
