import {
  createdAt,
  foreignKey,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { projects } from './projects.ts';

export const DEPLOYMENT_STATUSES = ['pending', 'building', 'deployed', 'failed'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];
/** Statuses a deployment does not leave. */
export const FINAL_DEPLOYMENT_STATUSES = ['deployed', 'failed'] as const;

/**
 * A deployment of a project to a hosting provider: its status as it moves from `pending` to
 * `deployed` or `failed`, the URL it was served at, and the provider's log lines (appended).
 */
export const deploymentLogs = table(
  'deployment_logs',
  {
    id: id(),
    projectId: uuid().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    status: textEnum(DEPLOYMENT_STATUSES).notNull().default('pending'),
    url: text(),
    logs: text().notNull().default(''),
    error: text(),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    deployedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    foreignKey(
      'deployment_logs_project_owner_fk',
      [t.projectId, t.userId],
      () => [projects.columns.id, projects.columns.userId],
      { onDelete: 'cascade' },
    ),
    index('deployment_logs_project_created_idx').on(t.projectId, t.createdAt),
    index('deployment_logs_user_idx').on(t.userId),
    ownedByUser(t.userId),
  ],
);

export type DeploymentLog = typeof deploymentLogs.pg.$inferSelect;
export type NewDeploymentLog = typeof deploymentLogs.pg.$inferInsert;
