import {
  type DomainContext,
  optionalText,
  ownedRow,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
} from '@exora/core';
import { type ToolExecution, toolExecutions } from '../schema/tool-executions.ts';
import { limitOf, objectOr, optionalDuration, parentOf } from './internal.ts';

/** Recorded only for a step of the owner's, of that project: the foreign key checks it. */
const recordExecution = statement.one(
  'toolExecutions.record',
  toolExecutions,
  ['projectId', 'agentLogId', 'toolName', 'arguments', 'result', 'error', 'status', 'durationMs'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        projectId: $.projectId,
        userId: owner,
        agentLogId: $.agentLogId,
        toolName: $.toolName,
        arguments: $.arguments,
        result: $.result,
        error: $.error,
        status: $.status,
        durationMs: $.durationMs,
      })
      .returning(),
);

const listForProject = ownedRow.listFor(
  'toolExecutions.listForProject',
  toolExecutions,
  'projectId',
  'oldest',
);

export interface RecordToolExecutionInput {
  projectId: string;
  /** The agent step that called the tool (a step of that project). */
  agentLogId: string;
  toolName: string;
  arguments?: Record<string, unknown>;
  /** What the tool returned (any JSON); left out when it failed. */
  result?: unknown;
  /** Why the tool failed: the execution is then `failed`, else `success`. */
  error?: string | null;
  durationMs?: number | null;
}

/** The tool calls made while projects were generated. */
export function createToolExecutionsRepository(ctx: DomainContext) {
  return {
    /** Records one tool call (a service names the user). */
    async record(input: RecordToolExecutionInput, userId?: string): Promise<ToolExecution> {
      const given = requirePlainObject(input, 'input') as unknown as RecordToolExecutionInput;
      const error = optionalText(given.error, 'error', { max: 100_000 }) ?? null;
      return parentOf(
        'agent step',
        run(ctx, recordExecution, {
          owner: userId,
          projectId: requireUuid(given.projectId, 'projectId'),
          agentLogId: requireUuid(given.agentLogId, 'agentLogId'),
          toolName: requireText(given.toolName, 'toolName', { max: 200 }),
          arguments: objectOr(given.arguments, 'arguments'),
          result: error === null ? (given.result ?? null) : null,
          error,
          status: error === null ? 'success' : 'failed',
          durationMs: optionalDuration(given.durationMs, 'durationMs'),
        }),
      );
    },

    /** A project's tool calls in the order they were recorded (at most `limit`, default 500). */
    async listForProject(
      projectId: string,
      options: { limit?: number } = {},
    ): Promise<ToolExecution[]> {
      return run(ctx, listForProject, {
        projectId: requireUuid(projectId, 'projectId'),
        limit: limitOf(options.limit, 500, 5000),
      });
    },
  };
}

export type ToolExecutionsRepository = ReturnType<typeof createToolExecutionsRepository>;
