import {
  boolean,
  createdAt,
  id,
  json,
  readableByAll,
  table,
  text,
  textArray,
  updatedAt,
  varchar,
} from '@exora/core';

/** The products a user can start an agent from: reference rows every role reads. */
export const agentTemplates = table(
  'agent_templates',
  {
    id: id(),
    slug: varchar(100).notNull().unique('agent_templates_slug_unique'),
    name: text().notNull(),
    description: text().notNull().default(''),
    category: text().notNull(),
    icon: text(),
    capabilities: textArray().notNull().default([]),
    defaultConfig: json<Record<string, unknown>>().notNull().default({}),
    isActive: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  () => [readableByAll()],
);

export type AgentTemplate = typeof agentTemplates.pg.$inferSelect;
export type NewAgentTemplate = typeof agentTemplates.pg.$inferInsert;
