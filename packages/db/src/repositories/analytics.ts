import { agentMessages } from '@exora/agents/schema';
import { conversations } from '@exora/conversations/schema';
import { type DomainContext, requireInteger, run, statement } from '@exora/core';
import { LEAD_STATUSES, leads } from '@exora/crm/schema';
import { workflowExecutions } from '@exora/workflows/schema';
import { and, asc, desc, eq, gte, sql } from 'drizzle-orm';
import {
  agentFailureRates,
  conversationsPerDay,
  leadPipeline,
  workflowExecutionStats,
} from '../views.ts';

// Each statement's table is the one its view reads: the owner rule is that table's, and the view
// is filtered by its owner column (`owner`: the acting user, or the user a service names).

const perDay = statement.many(
  'analytics.conversationsPerDay',
  conversations,
  ['since'],
  ({ db, view, $, owner }) => {
    const v = view(conversationsPerDay);
    return db
      .select({ day: v.day, channel: v.channel, conversations: v.conversations })
      .from(v)
      .where(and(eq(v.userId, owner), gte(v.day, $.since)))
      .orderBy(desc(v.day), asc(v.channel));
  },
  { stale: true },
);

const pipeline = statement.many(
  'analytics.leadPipeline',
  leads,
  [],
  ({ db, view, owner }) => {
    const v = view(leadPipeline);
    // Pipeline order: the stage's place in the list of statuses.
    const stage = sql`(case ${v.status} ${sql.raw(LEAD_STATUSES.map((s, i) => `when '${s}' then ${i}`).join(' '))} end)`;
    return db
      .select({ status: v.status, leads: v.leads, meanScore: v.meanScore })
      .from(v)
      .where(eq(v.userId, owner))
      .orderBy(stage);
  },
  { stale: true },
);

const executionStats = statement.many(
  'analytics.workflowExecutionStats',
  workflowExecutions,
  [],
  ({ db, view, owner }) => {
    const v = view(workflowExecutionStats);
    return db
      .select({
        workflowType: v.workflowType,
        executions: v.executions,
        completed: v.completed,
        failed: v.failed,
        successRate: v.successRate,
        meanDurationMs: v.meanDurationMs,
      })
      .from(v)
      .where(eq(v.userId, owner))
      .orderBy(asc(v.workflowType));
  },
  { stale: true },
);

const failureRates = statement.many(
  'analytics.agentFailureRates',
  agentMessages,
  [],
  ({ db, view, owner }) => {
    const v = view(agentFailureRates);
    return db
      .select({
        agentName: v.agentName,
        messages: v.messages,
        failed: v.failed,
        failureRate: v.failureRate,
      })
      .from(v)
      .where(eq(v.userId, owner))
      .orderBy(asc(v.agentName));
  },
  { stale: true },
);

/** Conversations started on one UTC day (`YYYY-MM-DD`) over one channel. */
export type ConversationsPerDayRow = Awaited<
  ReturnType<AnalyticsRepository['conversationsPerDay']>
>[number];
/** One stage of the lead pipeline: how many leads are at it, and their mean score. */
export type LeadPipelineRow = Awaited<ReturnType<AnalyticsRepository['leadPipeline']>>[number];
/** One workflow type's executions: counts, success rate among ended ones, mean duration. */
export type WorkflowExecutionStatsRow = Awaited<
  ReturnType<AnalyticsRepository['workflowExecutionStats']>
>[number];
/** One agent's messages: counts and the failure rate among processed ones. */
export type AgentFailureRateRow = Awaited<
  ReturnType<AnalyticsRepository['agentFailureRates']>
>[number];

const DAY_MS = 86_400_000;

/**
 * The analytics views, read for one user (a service names the user): each call one statement on
 * its view.
 */
export function createAnalyticsRepository(ctx: DomainContext) {
  return {
    /**
     * Conversations per UTC day and channel over the last `days` days, today included (default
     * 30, at most 366), newest day first.
     */
    async conversationsPerDay(options: { days?: number } = {}, userId?: string) {
      const days = requireInteger(options.days ?? 30, 'days', { min: 1, max: 366 });
      const since = new Date(Date.now() - (days - 1) * DAY_MS).toISOString().slice(0, 10);
      return run(ctx, perDay, { owner: userId, since });
    },

    /** Count and mean score of the user's leads at each stage they have, in pipeline order. */
    async leadPipeline(userId?: string) {
      return run(ctx, pipeline, { owner: userId });
    },

    /** The user's workflow executions per workflow type. */
    async workflowExecutionStats(userId?: string) {
      return run(ctx, executionStats, { owner: userId });
    },

    /** The user's agent messages per agent, with their failure rate. */
    async agentFailureRates(userId?: string) {
      return run(ctx, failureRates, { owner: userId });
    },
  };
}

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>;
