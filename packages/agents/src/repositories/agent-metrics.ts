import {
  type DomainContext,
  requirePlainObject,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import { type AgentMetric, agentMetrics } from '../schema/agent-metrics.ts';
import { agentOf } from './internal.ts';

/**
 * Adds to an agent's counters for a day: one upsert that adds in SQL, so two writers adding at
 * once both count (no read-modify-write). The agent must be the user's own.
 */
const addMetrics = statement.one(
  'agentMetrics.add',
  agentMetrics,
  ['agentId', 'day', 'completed', 'failed', 'durationMs'],
  ({ db, t, $, owner, excluded }) =>
    db
      .insert(t)
      .values({
        agentId: $.agentId,
        userId: owner,
        day: $.day,
        tasksCompleted: $.completed,
        tasksFailed: $.failed,
        totalDurationMs: $.durationMs,
      })
      .onConflictDoUpdate({
        target: [t.agentId, t.day],
        set: {
          tasksCompleted: sql`${t.tasksCompleted} + ${excluded(t.tasksCompleted)}`,
          tasksFailed: sql`${t.tasksFailed} + ${excluded(t.tasksFailed)}`,
          totalDurationMs: sql`${t.totalDurationMs} + ${excluded(t.totalDurationMs)}`,
        },
      })
      .returning(),
);

const listMetrics = statement.many(
  'agentMetrics.list',
  agentMetrics,
  ['agentId', 'from', 'to'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.agentId, $.agentId), owned(), gte(t.day, $.from), lte(t.day, $.to)))
      .orderBy(asc(t.day)),
  { stale: true },
);

const DAY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const count = (value: unknown, field: string): number => {
  const n = value ?? 0;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new ValidationError(field, 'must be a non-negative integer');
  }
  return n;
};
const day = (value: unknown, field: string): string => {
  if (typeof value !== 'string' || !DAY.test(value)) {
    throw new ValidationError(field, 'must be a day as YYYY-MM-DD');
  }
  return value;
};

export interface AddMetricsInput {
  agentId: string;
  /** UTC day, `YYYY-MM-DD`; default today. */
  day?: string;
  tasksCompleted?: number;
  tasksFailed?: number;
  durationMs?: number;
}

/** Daily counters per agent, rolled up as work is done. */
export function createAgentMetricsRepository(ctx: DomainContext) {
  return {
    /** Adds to the agent's counters for the day; returns the day's totals. */
    async add(input: AddMetricsInput, userId?: string): Promise<AgentMetric> {
      const given = requirePlainObject(input, 'input') as unknown as AddMetricsInput;
      return agentOf(
        run(ctx, addMetrics, {
          owner: userId,
          agentId: requireUuid(given.agentId, 'agentId'),
          day:
            given.day === undefined ? new Date().toISOString().slice(0, 10) : day(given.day, 'day'),
          completed: count(given.tasksCompleted, 'tasksCompleted'),
          failed: count(given.tasksFailed, 'tasksFailed'),
          durationMs: count(given.durationMs, 'durationMs'),
        }),
      );
    },

    /** The agent's days from `from` to `to` (inclusive, `YYYY-MM-DD`). */
    async list(agentId: string, range: { from: string; to: string }): Promise<AgentMetric[]> {
      return run(ctx, listMetrics, {
        agentId: requireUuid(agentId, 'agentId'),
        from: day(range?.from, 'from'),
        to: day(range?.to, 'to'),
      });
    },
  };
}
