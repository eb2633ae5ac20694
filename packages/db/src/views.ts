/**
 * The analytics views, each written once for both dialects (see `view()` in `@exora/core`): per
 * user, so that on Postgres, where they are `security_invoker`, a user reading one through the
 * application role sees their own rows only. They read tables of four domains, which is why they
 * live here, in the one package that depends on all of them.
 */
import { agentMessages } from '@exora/agents/schema';
import { conversations } from '@exora/conversations/schema';
import { view } from '@exora/core';
import { leads } from '@exora/crm/schema';
import { workflowExecutions } from '@exora/workflows/schema';
import { sql } from 'drizzle-orm';

const count = (alias: string) => sql<number>`count(*)`.mapWith(Number).as(alias);

/** Conversations started per UTC day and channel. */
export const conversationsPerDay = view('conversations_per_day', {
  reads: [conversations],
  query: ({ qb, table, fn }) => {
    const t = table(conversations);
    const day = fn.utcDay(t.createdAt);
    return qb
      .select({
        userId: t.userId,
        day: day.as('day'),
        channel: t.channel,
        conversations: count('conversations'),
      })
      .from(t)
      .groupBy(t.userId, day, t.channel);
  },
});

/** The lead pipeline: how many leads at each stage and their mean score. */
export const leadPipeline = view('lead_pipeline', {
  reads: [leads],
  query: ({ qb, table }) => {
    const t = table(leads);
    return qb
      .select({
        userId: sql<string>`${t.assignedTo}`.as('user_id'),
        status: t.status,
        leads: count('leads'),
        meanScore: sql<number>`avg(${t.leadScore})`.mapWith(Number).as('mean_score'),
      })
      .from(t)
      .groupBy(t.assignedTo, t.status);
  },
});

/**
 * Workflow executions per type: how many, how many completed and failed, the success rate among
 * those that ended (completed over completed, failed and cancelled; null while none ended) and
 * their mean duration.
 */
export const workflowExecutionStats = view('workflow_execution_stats', {
  reads: [workflowExecutions],
  query: ({ qb, table }) => {
    const t = table(workflowExecutions);
    const state = t.currentState;
    return qb
      .select({
        userId: sql<string>`${t.initiatedBy}`.as('user_id'),
        workflowType: t.workflowType,
        executions: count('executions'),
        completed: sql<number>`sum(case when ${state} = 'completed' then 1 else 0 end)`
          .mapWith(Number)
          .as('completed'),
        failed: sql<number>`sum(case when ${state} = 'failed' then 1 else 0 end)`
          .mapWith(Number)
          .as('failed'),
        successRate: sql<
          number | null
        >`avg(case when ${state} = 'completed' then 1.0 when ${state} in ('failed', 'cancelled') then 0.0 end)`
          .mapWith(Number)
          .as('success_rate'),
        meanDurationMs: sql<number | null>`avg(${t.durationMs})`
          .mapWith(Number)
          .as('mean_duration_ms'),
      })
      .from(t)
      .groupBy(t.initiatedBy, t.workflowType);
  },
});

/**
 * Agent messages per agent: how many, how many failed, and the failure rate among those
 * processed (failed over completed and failed; null while none was processed).
 */
export const agentFailureRates = view('agent_failure_rates', {
  reads: [agentMessages],
  query: ({ qb, table }) => {
    const t = table(agentMessages);
    return qb
      .select({
        userId: t.userId,
        agentName: t.agentName,
        messages: count('messages'),
        failed: sql<number>`sum(case when ${t.status} = 'failed' then 1 else 0 end)`
          .mapWith(Number)
          .as('failed'),
        failureRate: sql<
          number | null
        >`avg(case when ${t.status} = 'failed' then 1.0 when ${t.status} = 'completed' then 0.0 end)`
          .mapWith(Number)
          .as('failure_rate'),
      })
      .from(t)
      .groupBy(t.userId, t.agentName);
  },
});
