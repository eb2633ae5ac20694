import {
  check,
  createdAt,
  id,
  index,
  integer,
  json,
  ownedByUser,
  table,
  text,
  textArray,
  textEnum,
  timestamp,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { sql } from 'drizzle-orm';

export const EXECUTION_STATES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

/**
 * One run of a multi-agent workflow for a conversation: its state and step, the agents taking
 * part, its configuration, plan and results, and when it started and ended.
 */
export const workflowExecutions = table(
  'workflow_executions',
  {
    id: id(),
    /** The conversation's key as the agent runtime names it. */
    conversationId: text(),
    workflowType: text().notNull(),
    currentState: textEnum(EXECUTION_STATES).notNull().default('pending'),
    currentStep: text(),
    participatingAgents: textArray().notNull().default([]),
    initiatedBy: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    workflowConfig: json<Record<string, unknown>>().notNull().default({}),
    executionPlan: json<Record<string, unknown>>().notNull().default({}),
    results: json<Record<string, unknown>>(),
    errorMessage: text(),
    startedAt: timestamp(),
    completedAt: timestamp(),
    durationMs: integer(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('workflow_executions_id_initiator_unique').on(t.id, t.initiatedBy),
    check(
      'workflow_executions_duration_check',
      sql`${t.durationMs} is null or ${t.durationMs} >= 0`,
    ),
    index('workflow_executions_initiator_created_idx').on(t.initiatedBy, t.createdAt, t.id),
    index('workflow_executions_type_state_idx').on(t.workflowType, t.currentState),
    index('workflow_executions_agents_gin').on(t.participatingAgents).gin(),
    index('workflow_executions_config_gin').on(t.workflowConfig).gin(),
    ownedByUser(t.initiatedBy),
  ],
);

export type WorkflowExecution = typeof workflowExecutions.pg.$inferSelect;
