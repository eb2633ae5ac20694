import {
  check,
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { sql } from 'drizzle-orm';
import { projects } from './projects.ts';

export const STEP_STATUSES = ['running', 'completed', 'failed'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

/**
 * One agent of a project's chain, one row per attempt: what it was given, what it produced or
 * the error it ended with, and when. The (project, user) foreign key keeps a project's steps
 * its owner's; deleting the project deletes them.
 */
export const agentLogs = table(
  'agent_logs',
  {
    id: id(),
    projectId: uuid().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    stepNumber: integer().notNull(),
    agentName: text().notNull(),
    status: textEnum(STEP_STATUSES).notNull().default('running'),
    input: json<unknown>(),
    output: json<unknown>(),
    error: text(),
    startedAt: timestamp().notNull(),
    completedAt: timestamp(),
    durationMs: integer(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey(
      'agent_logs_project_owner_fk',
      [t.projectId, t.userId],
      () => [projects.columns.id, projects.columns.userId],
      { onDelete: 'cascade' },
    ),
    check('agent_logs_step_number_check', sql`${t.stepNumber} >= 1`),
    check('agent_logs_duration_check', sql`${t.durationMs} is null or ${t.durationMs} >= 0`),
    // Tool executions name the step together with its project and owner.
    unique('agent_logs_id_project_user_unique').on(t.id, t.projectId, t.userId),
    // A project's chain in order, and the derived progress (steps completed).
    index('agent_logs_project_step_idx').on(t.projectId, t.stepNumber, t.status),
    index('agent_logs_user_idx').on(t.userId),
    ownedByUser(t.userId),
  ],
);

export type AgentLog = typeof agentLogs.pg.$inferSelect;
export type NewAgentLog = typeof agentLogs.pg.$inferInsert;
