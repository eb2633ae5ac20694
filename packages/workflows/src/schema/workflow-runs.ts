import {
  boolean,
  createdAt,
  id,
  index,
  integer,
  json,
  nowSql,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

export const WORKFLOW_RUN_STATUSES = [
  'pending',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled',
] as const;
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];

/** One step of a run, as the engine that executes it defines it. */
export type WorkflowStep = Record<string, unknown>;

/**
 * A stateful workflow run: its steps, where it is, what it has gathered. A worker executes it
 * while holding its lock: `locked_by` names the holder, `lock_expires_at` ends the lease, and
 * `lock_token` grows with every acquisition (a fencing token: a holder whose lease was taken
 * over holds an older token, and every write it attempts is refused).
 */
export const workflowRuns = table(
  'workflow_runs',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    steps: json<WorkflowStep[]>().notNull().default([]),
    currentStep: integer().notNull().default(0),
    context: json<Record<string, unknown>>().notNull().default({}),
    status: textEnum(WORKFLOW_RUN_STATUSES).notNull().default('pending'),
    lastError: text(),
    lastUpdated: timestamp().notNull().defaultSql(nowSql),
    locked: boolean().notNull().default(false),
    lockedAt: timestamp(),
    lockedBy: text(),
    lockExpiresAt: timestamp(),
    lockToken: integer().notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index('workflow_runs_user_created_idx').on(t.userId, t.createdAt),
    // The active-runs query: status and lock by equality, newest update first.
    index('workflow_runs_status_locked_updated_idx').on(t.status, t.locked, t.lastUpdated),
    // Schedules reference a run together with its owner.
    unique('workflow_runs_id_user_unique').on(t.id, t.userId),
    ownedByUser(t.userId),
  ],
);

export type WorkflowRun = typeof workflowRuns.pg.$inferSelect;
export type NewWorkflowRun = typeof workflowRuns.pg.$inferInsert;
