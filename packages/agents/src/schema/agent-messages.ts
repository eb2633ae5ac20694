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
import { workflowExecutions } from '@exora/workflows/schema';

export const AGENT_MESSAGE_TYPES = ['input', 'output', 'system', 'error', 'tool_call'] as const;
export const AGENT_MESSAGE_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const;

/** What one agent received, said or called during a workflow execution. */
export const agentMessages = table(
  'agent_messages',
  {
    id: id(),
    workflowExecutionId: uuid().notNull(),
    /** The execution's initiator (a composite key keeps them equal). */
    userId: uuid().notNull(),
    agentName: text().notNull(),
    messageType: textEnum(AGENT_MESSAGE_TYPES).notNull(),
    content: text(),
    status: textEnum(AGENT_MESSAGE_STATUSES).notNull().default('pending'),
    toolCalls: json<unknown[]>().notNull().default([]),
    contextData: json<Record<string, unknown>>().notNull().default({}),
    errorDetails: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    processedAt: timestamp(),
  },
  (t) => [
    foreignKey(
      'agent_messages_execution_owner_fk',
      [t.workflowExecutionId, t.userId],
      () => [workflowExecutions.columns.id, workflowExecutions.columns.initiatedBy],
      { onDelete: 'cascade' },
    ),
    index('agent_messages_execution_created_idx').on(t.workflowExecutionId, t.createdAt),
    index('agent_messages_agent_status_idx').on(t.agentName, t.status),
    index('agent_messages_tool_calls_gin').on(t.toolCalls).gin(),
    ownedByUser(t.userId),
  ],
);

export type AgentMessage = typeof agentMessages.pg.$inferSelect;
