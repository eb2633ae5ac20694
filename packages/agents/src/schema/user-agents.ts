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
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { agentTemplates } from './agent-templates.ts';

export const AGENT_STATUSES = ['active', 'paused', 'archived'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/** A user's agent, started from a template (kept if the template is retired). */
export const userAgents = table(
  'user_agents',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    templateId: uuid().references(() => agentTemplates.columns.id, { onDelete: 'set null' }),
    name: text().notNull(),
    status: textEnum(AGENT_STATUSES).notNull().default('active'),
    config: json<Record<string, unknown>>().notNull().default({}),
    archivedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('user_agents_user_idx').on(t.userId, t.status),
    index('user_agents_template_idx').on(t.templateId),
    ownedByUser(t.userId),
  ],
);

export type UserAgent = typeof userAgents.pg.$inferSelect;
export type NewUserAgent = typeof userAgents.pg.$inferInsert;
