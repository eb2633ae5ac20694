import {
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  ownedByOrganization,
  real,
  table,
  text,
  textEnum,
  uuid,
} from '@exora/core';
import { organizations } from '@exora/identity/schema';
import { steps } from './steps.ts';
import { workflows } from './workflows.ts';

export const HEALTH_LOG_STATUSES = ['success', 'healed', 'failure'] as const;
export type HealthLogStatus = (typeof HEALTH_LOG_STATUSES)[number];

/** One execution of a workflow: its outcome, what auto-healing did, and how long it took. */
export const healthLogs = table(
  'health_logs',
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.columns.id, { onDelete: 'cascade' }),
    workflowId: uuid().notNull(),
    /** The step that failed or was healed, of the same organization; deleting it keeps the log. */
    stepId: uuid(),
    status: textEnum(HEALTH_LOG_STATUSES).notNull(),
    errorType: text(),
    errorMessage: text(),
    healingConfidence: real(),
    healingMethod: text(),
    pageUrl: text(),
    executionTimeMs: integer(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey(
      'health_logs_workflow_organization_fk',
      [t.workflowId, t.organizationId],
      () => [workflows.columns.id, workflows.columns.organizationId],
      { onDelete: 'cascade' },
    ),
    // The step together with the log's organization (see `steps_screenshot_organization_fk`).
    foreignKey(
      'health_logs_step_organization_fk',
      [t.stepId, t.organizationId],
      () => [steps.columns.id, steps.columns.organizationId],
      { onDelete: 'set null', setNullColumns: [t.stepId] },
    ),
    index('health_logs_workflow_created_idx').on(t.workflowId, t.createdAt),
    index('health_logs_status_idx').on(t.status),
    index('health_logs_step_idx').on(t.stepId),
    index('health_logs_organization_idx').on(t.organizationId),
    ownedByOrganization(t.organizationId),
  ],
);

export type HealthLog = typeof healthLogs.pg.$inferSelect;
export type NewHealthLog = typeof healthLogs.pg.$inferInsert;
