import {
  boolean,
  createdAt,
  foreignKey,
  id,
  index,
  ownedByUser,
  table,
  timestamp,
  updatedAt,
  uuid,
  varchar,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { workflowRuns } from './workflow-runs.ts';

/**
 * When a workflow run fires: a cron expression read in `timezone`, the last and next firing.
 * `next_run` is computed by the repository (croner) and moved by the scheduler that claims the
 * schedule, in the same transaction, so no two schedulers fire one schedule twice.
 */
export const schedules = table(
  'schedules',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    workflowRunId: uuid().notNull(),
    cron: varchar(200).notNull(),
    timezone: varchar(100).notNull().default('UTC'),
    lastRun: timestamp(),
    nextRun: timestamp().notNull(),
    active: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The run and its owner together: a schedule always belongs to its run's user.
    foreignKey(
      'schedules_run_owner_fk',
      [t.workflowRunId, t.userId],
      () => [workflowRuns.columns.id, workflowRuns.columns.userId],
      { onDelete: 'cascade' },
    ),
    // claimDue: the active schedules whose next run has come, earliest first.
    index('schedules_active_next_run_idx').on(t.active, t.nextRun),
    index('schedules_user_idx').on(t.userId),
    index('schedules_run_idx').on(t.workflowRunId),
    ownedByUser(t.userId),
  ],
);

export type Schedule = typeof schedules.pg.$inferSelect;
export type NewSchedule = typeof schedules.pg.$inferInsert;
