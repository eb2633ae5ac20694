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
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/** Automations a user built themselves (not from the catalog). */
export const automationWorkflows = table(
  'automation_workflows',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    description: text(),
    triggerType: text().notNull().default('manual'),
    config: json<Record<string, unknown>>().notNull().default({}),
    n8nWorkflowId: text(),
    isActive: boolean().notNull().default(true),
    lastRunAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('automation_workflows_user_idx').on(t.userId), ownedByUser(t.userId)],
);

export type AutomationWorkflow = typeof automationWorkflows.pg.$inferSelect;
export type NewAutomationWorkflow = typeof automationWorkflows.pg.$inferInsert;
