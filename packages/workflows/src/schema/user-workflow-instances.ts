import {
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { workflowTemplates } from './workflow-templates.ts';

export const INSTANCE_STATUSES = ['active', 'inactive'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];

/** Which n8n workflow runs a catalog template for which user: one per user and template. */
export const userWorkflowInstances = table(
  'user_workflow_instances',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    templateId: uuid()
      .notNull()
      .references(() => workflowTemplates.columns.id, { onDelete: 'restrict' }),
    n8nWorkflowId: text().notNull().unique('user_workflow_instances_n8n_workflow_unique'),
    status: textEnum(INSTANCE_STATUSES).notNull().default('active'),
    config: json<Record<string, unknown>>().notNull().default({}),
    activatedAt: timestamp(),
    deactivatedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('user_workflow_instances_user_template_unique').on(t.userId, t.templateId),
    index('user_workflow_instances_template_idx').on(t.templateId),
    ownedByUser(t.userId),
  ],
);

export type UserWorkflowInstance = typeof userWorkflowInstances.pg.$inferSelect;
export type NewUserWorkflowInstance = typeof userWorkflowInstances.pg.$inferInsert;
