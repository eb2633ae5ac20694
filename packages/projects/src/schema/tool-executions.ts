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
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { sql } from 'drizzle-orm';
import { agentLogs } from './agent-logs.ts';

export const TOOL_STATUSES = ['success', 'failed'] as const;
export type ToolStatus = (typeof TOOL_STATUSES)[number];

/**
 * One tool call made by an agent step of a project: the tool, its arguments, its result or
 * error, how long it took. The (step, project, user) foreign key keeps it a step of that project
 * and of its owner; deleting the step (with its project) deletes it.
 */
export const toolExecutions = table(
  'tool_executions',
  {
    id: id(),
    projectId: uuid().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    agentLogId: uuid().notNull(),
    toolName: text().notNull(),
    arguments: json<Record<string, unknown>>().notNull().default({}),
    result: json<unknown>(),
    error: text(),
    status: textEnum(TOOL_STATUSES).notNull(),
    durationMs: integer(),
    createdAt: createdAt(),
  },
  (t) => [
    // One parent among this package's tables: SQLite cannot drop a table whose rows would
    // cascade into a child that still references another dropped table (a rollback drops them).
    foreignKey(
      'tool_executions_agent_log_fk',
      [t.agentLogId, t.projectId, t.userId],
      () => [agentLogs.columns.id, agentLogs.columns.projectId, agentLogs.columns.userId],
      { onDelete: 'cascade' },
    ),
    check('tool_executions_duration_check', sql`${t.durationMs} is null or ${t.durationMs} >= 0`),
    index('tool_executions_project_created_idx').on(t.projectId, t.createdAt),
    index('tool_executions_agent_log_idx').on(t.agentLogId),
    index('tool_executions_user_idx').on(t.userId),
    ownedByUser(t.userId),
  ],
);

export type ToolExecution = typeof toolExecutions.pg.$inferSelect;
export type NewToolExecution = typeof toolExecutions.pg.$inferInsert;
