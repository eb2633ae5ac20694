import {
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { userAgents } from './user-agents.ts';

export const ACTIVITY_STATUSES = ['success', 'failure', 'running'] as const;
export type ActivityStatus = (typeof ACTIVITY_STATUSES)[number];

/** What an agent did, append-mostly; deleting the agent deletes its activities. */
export const agentActivities = table(
  'agent_activities',
  {
    id: id(),
    agentId: uuid().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    activityType: text().notNull(),
    status: textEnum(ACTIVITY_STATUSES).notNull().default('success'),
    details: json<Record<string, unknown>>().notNull().default({}),
    durationMs: integer(),
    createdAt: createdAt(),
  },
  (t) => [
    // The agent and its owner together: an agent's rows always belong to the agent's user.
    foreignKey(
      'agent_activities_agent_owner_fk',
      [t.agentId, t.userId],
      () => [userAgents.columns.id, userAgents.columns.userId],
      {
        onDelete: 'cascade',
      },
    ),
    index('agent_activities_agent_created_idx').on(t.agentId, t.createdAt),
    index('agent_activities_user_created_idx').on(t.userId, t.createdAt),
    ownedByUser(t.userId),
  ],
);

export type AgentActivity = typeof agentActivities.pg.$inferSelect;
export type NewAgentActivity = typeof agentActivities.pg.$inferInsert;
