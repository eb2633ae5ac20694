import {
  bigint,
  check,
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  ownedByUser,
  table,
  unique,
  updatedAt,
  uuid,
  varchar,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { sql } from 'drizzle-orm';
import { userAgents } from './user-agents.ts';

/** Per agent and UTC day (`YYYY-MM-DD`): counters that writers add to. */
export const agentMetrics = table(
  'agent_metrics',
  {
    id: id(),
    agentId: uuid().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    day: varchar(10).notNull(),
    tasksCompleted: integer().notNull().default(0),
    tasksFailed: integer().notNull().default(0),
    totalDurationMs: bigint().notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The agent and its owner together: an agent's rows always belong to the agent's user.
    foreignKey(
      'agent_metrics_agent_owner_fk',
      [t.agentId, t.userId],
      () => [userAgents.columns.id, userAgents.columns.userId],
      {
        onDelete: 'cascade',
      },
    ),
    unique('agent_metrics_agent_day_unique').on(t.agentId, t.day),
    index('agent_metrics_user_day_idx').on(t.userId, t.day),
    check(
      'agent_metrics_counts_nonnegative',
      sql`${t.tasksCompleted} >= 0 and ${t.tasksFailed} >= 0 and ${t.totalDurationMs} >= 0`,
    ),
    ownedByUser(t.userId),
  ],
);

export type AgentMetric = typeof agentMetrics.pg.$inferSelect;
export type NewAgentMetric = typeof agentMetrics.pg.$inferInsert;
