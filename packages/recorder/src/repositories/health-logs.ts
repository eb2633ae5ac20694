import {
  type DomainContext,
  NotFoundError,
  optionalText,
  requireOneOf,
  requirePlainObject,
  requireUuid,
  run,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { and, desc, eq, sql } from 'drizzle-orm';
import {
  HEALTH_LOG_STATUSES,
  type HealthLog,
  type HealthLogStatus,
  healthLogs,
} from '../schema/health-logs.ts';
import { type RecordedWorkflow, workflows } from '../schema/workflows.ts';
import {
  BROKEN_AFTER_FAILURES,
  inWorkflow,
  linking,
  organizationOfWorkflow,
  requireRange,
  transition,
} from './internal.ts';

const insertLog = statement.one(
  'healthLogs.log',
  healthLogs,
  [
    'workflowId',
    'stepId',
    'status',
    'errorType',
    'errorMessage',
    'healingConfidence',
    'healingMethod',
    'pageUrl',
    'executionTimeMs',
  ],
  (q) => {
    const { db, t, $ } = q;
    return db
      .insert(t)
      .values({
        organizationId: organizationOfWorkflow(q, $.workflowId),
        workflowId: $.workflowId,
        stepId: $.stepId,
        status: $.status,
        errorType: $.errorType,
        errorMessage: $.errorMessage,
        healingConfidence: $.healingConfidence,
        healingMethod: $.healingMethod,
        pageUrl: $.pageUrl,
        executionTimeMs: $.executionTimeMs,
      })
      .returning();
  },
);

/**
 * One run counted on the workflow: totals, the success rate recomputed from them, and the
 * consecutive failures (a success or a healed run resets them). Right-hand sides read the row as
 * it was, on both dialects.
 */
const countRun = statement.maybe(
  'healthLogs.countRun',
  workflows,
  ['workflowId', 'succeeded', 'failed', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        totalRuns: sql`${t.totalRuns} + 1`,
        successfulRuns: sql`${t.successfulRuns} + ${$.succeeded}`,
        failedRuns: sql`${t.failedRuns} + ${$.failed}`,
        consecutiveFailures: sql`case when ${$.failed} = 1 then ${t.consecutiveFailures} + 1 else 0 end`,
        successRate: sql`(${t.successfulRuns} + ${$.succeeded}) * 1.0 / (${t.totalRuns} + 1)`,
        lastSuccessfulRunAt: sql`case when ${$.succeeded} = 1 then ${$.bind(t.lastSuccessfulRunAt, 'now')} else ${t.lastSuccessfulRunAt} end`,
        lastFailedRunAt: sql`case when ${$.failed} = 1 then ${$.bind(t.lastFailedRunAt, 'now')} else ${t.lastFailedRunAt} end`,
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.workflowId), owned()))
      .returning(),
);

const listLogs = statement.many(
  'healthLogs.list',
  healthLogs,
  ['workflowId', 'limit'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.workflowId, $.workflowId), owned()))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

export interface HealthRunInput {
  status: HealthLogStatus;
  stepId?: string | null;
  errorType?: string | null;
  errorMessage?: string | null;
  healingConfidence?: number | null;
  healingMethod?: string | null;
  pageUrl?: string | null;
  executionTimeMs?: number | null;
}

const optionalNumber = (value: unknown, field: string, max: number): number | null => {
  if (value == null) return null;
  if (typeof value !== 'number' || !(value >= 0 && value <= max)) {
    throw new ValidationError(field, `must be a number from 0 to ${max}`);
  }
  return value;
};

/** Execution results of the organization's workflows, and the statistics they keep. */
export function createHealthLogsRepository(ctx: DomainContext) {
  return {
    /**
     * Logs one run and counts it on the workflow in the same transaction; the third failure in
     * a row turns an active workflow `broken` and raises an error notification. The step, if
     * given, must be the organization's (else ValidationError on `stepId`).
     */
    async log(
      workflowId: string,
      outcome: HealthRunInput,
    ): Promise<{ log: HealthLog; workflow: RecordedWorkflow }> {
      const workflow = requireUuid(workflowId, 'workflowId');
      const given = requirePlainObject(outcome, 'outcome');
      const status = requireOneOf(given.status, 'status', HEALTH_LOG_STATUSES);
      const executionTimeMs = optionalNumber(given.executionTimeMs, 'executionTimeMs', 86_400_000);
      const values = {
        workflowId: workflow,
        stepId: given.stepId == null ? null : requireUuid(given.stepId, 'stepId'),
        status,
        errorType: optionalText(given.errorType, 'errorType', { max: 200 }) ?? null,
        errorMessage: optionalText(given.errorMessage, 'errorMessage', { max: 10_000 }) ?? null,
        healingConfidence: optionalNumber(given.healingConfidence, 'healingConfidence', 1),
        healingMethod: optionalText(given.healingMethod, 'healingMethod', { max: 100 }) ?? null,
        pageUrl: optionalText(given.pageUrl, 'pageUrl', { max: 4_000 }) ?? null,
        executionTimeMs: executionTimeMs === null ? null : Math.round(executionTimeMs),
      };
      const failed = status === 'failure' ? 1 : 0;
      return inWorkflow(
        unit(ctx, 'write', async (tx) => {
          // The workflow row first: concurrent runs of one workflow count one after the other.
          const counted = await run(tx, countRun, {
            workflowId: workflow,
            succeeded: 1 - failed,
            failed,
            now: new Date(),
          });
          if (!counted) throw new NotFoundError('workflow');
          // The workflow is the organization's now: a key miss can only be the step.
          const inserted = run(tx, insertLog, values);
          const log = await (values.stepId === null
            ? inserted
            : linking(inserted, 'stepId', 'step'));
          const broken = failed
            ? await transition(tx, workflow, 'broken', {
                minFailures: BROKEN_AFTER_FAILURES,
                fromAny: false,
              })
            : null;
          return { log, workflow: broken ?? counted };
        }),
      );
    },

    /** The workflow's runs, newest first (`limit` default 50, at most 500). */
    async list(workflowId: string, limit = 50): Promise<HealthLog[]> {
      requireRange(limit, 'limit', 500);
      return run(ctx, listLogs, { workflowId: requireUuid(workflowId, 'workflowId'), limit });
    },
  };
}

export type HealthLogsRepository = ReturnType<typeof createHealthLogsRepository>;
