import {
  type DomainContext,
  ForeignKeyViolationError,
  found,
  NotFoundError,
  optionalText,
  ownedRow,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, eq, inArray } from 'drizzle-orm';
import {
  AGENT_MESSAGE_STATUSES,
  AGENT_MESSAGE_TYPES,
  type AgentMessage,
  agentMessages,
} from '../schema/agent-messages.ts';

/** Recorded only on an execution of the same user: the composite foreign key checks it. */
const recordMessage = statement.one(
  'agentMessages.record',
  agentMessages,
  ['executionId', 'agentName', 'messageType', 'content', 'status', 'toolCalls', 'contextData'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        workflowExecutionId: $.executionId,
        userId: owner,
        agentName: $.agentName,
        messageType: $.messageType,
        content: $.content,
        status: $.status,
        toolCalls: $.toolCalls,
        contextData: $.contextData,
      })
      .returning(),
);

const findMessage = ownedRow.find('agentMessages.find', agentMessages);

/** Ends a message's processing (completed or failed) once, stamping when. */
const processMessage = statement.maybe(
  'agentMessages.process',
  agentMessages,
  ['id', 'status', 'errorDetails', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        status: $.bind(t.status, 'status'),
        errorDetails: $.bind(t.errorDetails, 'errorDetails'),
        processedAt: $.bind(t.processedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), inArray(t.status, ['pending', 'processing']), owned()))
      .returning(),
);

const listForExecution = ownedRow.listFor(
  'agentMessages.listForExecution',
  agentMessages,
  'workflowExecutionId',
  'oldest',
);

export interface RecordAgentMessageInput {
  agentName: string;
  /** `input`, `output`, `system`, `error` or `tool_call`. */
  messageType: (typeof AGENT_MESSAGE_TYPES)[number];
  content?: string | null;
  /** Default `pending`; a message recorded as already handled gives `completed`. */
  status?: (typeof AGENT_MESSAGE_STATUSES)[number];
  /** The tool calls the agent made (any JSON values). */
  toolCalls?: unknown[];
  contextData?: Record<string, unknown>;
}

/** What agents received, said and called during workflow executions. */
export function createAgentMessagesRepository(ctx: DomainContext) {
  const finish = async (
    messageId: string,
    status: 'completed' | 'failed',
    errorDetails: string | null,
  ): Promise<AgentMessage> => {
    const id = requireUuid(messageId, 'messageId');
    const done = await run(ctx, processMessage, { id, status, errorDetails, now: new Date() });
    if (done) return done;
    await found('agent message', run(ctx, findMessage, { id }));
    throw new ValidationError('messageId', 'the message was already processed');
  };

  return {
    /**
     * Records an agent's input, output, system or error message, or its tool calls, on one of
     * the user's executions (a service names the user).
     */
    async record(
      executionId: string,
      input: RecordAgentMessageInput,
      userId?: string,
    ): Promise<AgentMessage> {
      const given = requirePlainObject(input, 'input');
      const toolCalls = given.toolCalls ?? [];
      if (!Array.isArray(toolCalls) || toolCalls.length > 1000) {
        throw new ValidationError('toolCalls', 'must be an array of at most 1000');
      }
      const contextData = given.contextData ?? {};
      requirePlainObject(contextData, 'contextData');
      try {
        return await run(ctx, recordMessage, {
          owner: userId,
          executionId: requireUuid(executionId, 'executionId'),
          agentName: requireText(given.agentName, 'agentName', { max: 200 }),
          messageType: requireOneOf(given.messageType, 'messageType', AGENT_MESSAGE_TYPES),
          content: optionalText(given.content, 'content', { max: 1_000_000 }) ?? null,
          status:
            given.status === undefined
              ? 'pending'
              : requireOneOf(given.status, 'status', AGENT_MESSAGE_STATUSES),
          toolCalls,
          contextData,
        });
      } catch (error) {
        if (error instanceof ForeignKeyViolationError) {
          throw new NotFoundError('workflow execution');
        }
        throw error;
      }
    },

    /** One of the actor's agent messages, or NotFoundError. */
    async get(messageId: string): Promise<AgentMessage> {
      const id = requireUuid(messageId, 'messageId');
      return found('agent message', run(ctx, findMessage, { id }));
    },

    /** Marks a pending or processing message handled (`completed`), stamping `processed_at`. */
    async complete(messageId: string): Promise<AgentMessage> {
      return finish(messageId, 'completed', null);
    },

    /** Marks a pending or processing message `failed` with why, stamping `processed_at`. */
    async fail(messageId: string, errorDetails: string): Promise<AgentMessage> {
      return finish(
        messageId,
        'failed',
        requireText(errorDetails, 'errorDetails', { max: 100_000 }),
      );
    },

    /**
     * An execution's messages in the order they were recorded, to the millisecond (ties by id;
     * at most `limit`, default 500).
     */
    async listForExecution(
      executionId: string,
      options: { limit?: number } = {},
    ): Promise<AgentMessage[]> {
      return run(ctx, listForExecution, {
        workflowExecutionId: requireUuid(executionId, 'executionId'),
        limit: requireInteger(options.limit ?? 500, 'limit', { min: 1, max: 5000 }),
      });
    },
  };
}

export type AgentMessagesRepository = ReturnType<typeof createAgentMessagesRepository>;
