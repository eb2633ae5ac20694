import {
  type DomainContext,
  found,
  keyset,
  optionalText,
  ownedRow,
  type Page,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { type WorkflowExecution, workflowExecutions } from '../schema/workflow-executions.ts';

const startExecution = statement.one(
  'workflowExecutions.start',
  workflowExecutions,
  [
    'workflowType',
    'conversationId',
    'currentStep',
    'participatingAgents',
    'workflowConfig',
    'executionPlan',
    'now',
  ],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        workflowType: $.workflowType,
        conversationId: $.conversationId,
        currentState: 'running',
        currentStep: $.currentStep,
        participatingAgents: $.participatingAgents,
        initiatedBy: owner,
        workflowConfig: $.workflowConfig,
        executionPlan: $.executionPlan,
        startedAt: $.now,
      })
      .returning(),
);

const findExecution = ownedRow.find('workflowExecutions.find', workflowExecutions);

const listPage = keyset.newestFirst('workflowExecutions.list', workflowExecutions, { stale: true });

/** Names the step a running execution is at. */
const advanceExecution = statement.maybe(
  'workflowExecutions.advance',
  workflowExecutions,
  ['id', 'currentStep'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ currentStep: $.bind(t.currentStep, 'currentStep') })
      .where(and(eq(t.id, $.id), eq(t.currentState, 'running'), owned()))
      .returning(),
);

/**
 * Ends an execution that has not ended: its final state, results or error, when it ended, and
 * its duration, computed by the database from `started_at` to the end.
 */
const endExecution = statement.maybe(
  'workflowExecutions.end',
  workflowExecutions,
  ['id', 'state', 'results', 'errorMessage', 'now'],
  ({ db, t, $, owned, fn }) => {
    const now = $.bind(t.completedAt, 'now');
    return db
      .update(t)
      .set({
        currentState: $.bind(t.currentState, 'state'),
        results: $.bind(t.results, 'results'),
        errorMessage: $.bind(t.errorMessage, 'errorMessage'),
        completedAt: now,
        durationMs: fn.msBetween(sql`coalesce(${t.startedAt}, ${now})`, now),
      })
      .where(and(eq(t.id, $.id), inArray(t.currentState, ['pending', 'running']), owned()))
      .returning();
  },
);

export interface StartExecutionInput {
  /** What kind of workflow runs (the analytics group by it). */
  workflowType: string;
  /** The conversation's key as the agent runtime names it. */
  conversationId?: string | null;
  currentStep?: string | null;
  participatingAgents?: string[];
  workflowConfig?: Record<string, unknown>;
  executionPlan?: Record<string, unknown>;
}

export type WorkflowExecutionPage = Page<WorkflowExecution>;

function objectOr(value: unknown, field: string): Record<string, unknown> {
  return value === undefined ? {} : requirePlainObject(value, field);
}

function agentsOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 100) {
    throw new ValidationError('participatingAgents', 'must be an array of at most 100');
  }
  return value.map((a) => requireText(a, 'participatingAgents', { max: 200 }));
}

/** Runs of multi-agent workflows: started, moved from step to step, completed or failed. */
export function createWorkflowExecutionsRepository(ctx: DomainContext) {
  const end = async (
    executionId: string,
    state: 'completed' | 'failed' | 'cancelled',
    results: unknown,
    errorMessage: string | null,
  ): Promise<WorkflowExecution> => {
    const id = requireUuid(executionId, 'executionId');
    const ended = await run(ctx, endExecution, {
      id,
      state,
      results,
      errorMessage,
      now: new Date(),
    });
    if (ended) return ended;
    await found('workflow execution', run(ctx, findExecution, { id }));
    throw new ValidationError('executionId', 'the execution has already ended');
  };

  return {
    /** Starts a `running` execution now, initiated by the acting user (a service names them). */
    async start(input: StartExecutionInput, userId?: string): Promise<WorkflowExecution> {
      const given = requirePlainObject(input, 'input');
      return run(ctx, startExecution, {
        owner: userId,
        workflowType: requireText(given.workflowType, 'workflowType', { max: 200 }),
        conversationId: optionalText(given.conversationId, 'conversationId', { max: 500 }) ?? null,
        currentStep: optionalText(given.currentStep, 'currentStep', { max: 500 }) ?? null,
        participatingAgents: agentsOf(given.participatingAgents),
        workflowConfig: objectOr(given.workflowConfig, 'workflowConfig'),
        executionPlan: objectOr(given.executionPlan, 'executionPlan'),
        now: new Date(),
      });
    },

    /** One of the actor's executions, or NotFoundError. */
    async get(executionId: string): Promise<WorkflowExecution> {
      const id = requireUuid(executionId, 'executionId');
      return found('workflow execution', run(ctx, findExecution, { id }));
    },

    /** Newest first, `limit` (default 20, at most 100) per page, from `cursor` on. */
    async list(
      options: { limit?: number; cursor?: string | null } = {},
    ): Promise<WorkflowExecutionPage> {
      return keyset.list(ctx, listPage, options);
    },

    /** Names the step a running execution is at now. */
    async advance(executionId: string, step: string): Promise<WorkflowExecution> {
      const id = requireUuid(executionId, 'executionId');
      const currentStep = requireText(step, 'step', { max: 500 });
      const moved = await run(ctx, advanceExecution, { id, currentStep });
      if (moved) return moved;
      await found('workflow execution', run(ctx, findExecution, { id }));
      throw new ValidationError('executionId', 'the execution is not running');
    },

    /** Ends the execution as `completed` with its results; the database sets its duration. */
    async complete(
      executionId: string,
      results: Record<string, unknown> = {},
    ): Promise<WorkflowExecution> {
      return end(executionId, 'completed', requirePlainObject(results, 'results'), null);
    },

    /** Ends the execution as `failed` with why (and partial results, if any). */
    async fail(
      executionId: string,
      errorMessage: string,
      results?: Record<string, unknown>,
    ): Promise<WorkflowExecution> {
      const error = requireText(errorMessage, 'errorMessage', { max: 100_000 });
      const partial = results === undefined ? null : requirePlainObject(results, 'results');
      return end(executionId, 'failed', partial, error);
    },

    /** Ends the execution as `cancelled`. */
    async cancel(executionId: string): Promise<WorkflowExecution> {
      return end(executionId, 'cancelled', null, null);
    },
  };
}

export type WorkflowExecutionsRepository = ReturnType<typeof createWorkflowExecutionsRepository>;
