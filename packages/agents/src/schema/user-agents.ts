import {
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { agentTemplates } from './agent-templates.ts';

export const AGENT_STATUSES = ['active', 'paused', 'archived'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * A user's agent, started from a template (a template in use cannot be deleted; retire it with
 * `is_active`). `(id, user_id)` is unique so that activities and metrics can reference the agent
 * together with its owner.
 */
export const userAgents = table(
  'user_agents',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    templateId: uuid()
      .notNull()
      .references(() => agentTemplates.columns.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    status: textEnum(AGENT_STATUSES).notNull().default('active'),
    config: json<Record<string, unknown>>().notNull().default({}),
    archivedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('user_agents_user_idx').on(t.userId, t.status),
    unique('user_agents_id_user_unique').on(t.id, t.userId),
    index('user_agents_template_idx').on(t.templateId),
    ownedByUser(t.userId),
  ],
);

export type UserAgent = typeof userAgents.pg.$inferSelect;
export type NewUserAgent = typeof userAgents.pg.$inferInsert;
