import {
  createdAt,
  id,
  index,
  integer,
  json,
  ownedByOrganization,
  real,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { organizations, users } from '@exora/identity/schema';

export const RECORDED_WORKFLOW_STATUSES = [
  'draft',
  'processing',
  'active',
  'needs_review',
  'broken',
  'archived',
] as const;
export type RecordedWorkflowStatus = (typeof RECORDED_WORKFLOW_STATUSES)[number];

/**
 * A recorded browser workflow of an organization, with its run statistics (kept by
 * `healthLogs.log` in the same transaction as each run's log). `(id, organization_id)` is unique
 * so that steps, screenshots, health logs and notifications reference the workflow together with
 * its organization: a child row always belongs to its workflow's organization.
 */
export const workflows = table(
  'workflows',
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.columns.id, { onDelete: 'cascade' }),
    /** The user who recorded it; deleting the user keeps the workflow. */
    createdBy: uuid().references(() => users.columns.id, { onDelete: 'set null' }),
    name: text().notNull(),
    description: text(),
    startingUrl: text(),
    status: textEnum(RECORDED_WORKFLOW_STATUSES).notNull().default('draft'),
    tags: json<string[]>().notNull().default([]),
    totalRuns: integer().notNull().default(0),
    successfulRuns: integer().notNull().default(0),
    failedRuns: integer().notNull().default(0),
    /** Failures since the last success; three make an active workflow `broken`. */
    consecutiveFailures: integer().notNull().default(0),
    /** successful_runs / total_runs, 0 before the first run. */
    successRate: real().notNull().default(0),
    lastSuccessfulRunAt: timestamp(),
    lastFailedRunAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('workflows_id_organization_unique').on(t.id, t.organizationId),
    index('workflows_organization_idx').on(t.organizationId, t.createdAt),
    index('workflows_status_idx').on(t.status),
    index('workflows_created_by_idx').on(t.createdBy),
    ownedByOrganization(t.organizationId),
  ],
);

export type RecordedWorkflow = typeof workflows.pg.$inferSelect;
export type NewRecordedWorkflow = typeof workflows.pg.$inferInsert;
