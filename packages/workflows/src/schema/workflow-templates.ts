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

/** The workflow catalog: n8n templates and the OAuth providers each needs (reference rows). */
export const workflowTemplates = table(
  'workflow_templates',
  {
    id: id(),
    slug: varchar(100).notNull().unique('workflow_templates_slug_unique'),
    name: text().notNull(),
    description: text().notNull().default(''),
    category: text().notNull(),
    n8nTemplateId: text(),
    requiredProviders: textArray().notNull().default([]),
    defaultConfig: json<Record<string, unknown>>().notNull().default({}),
    isActive: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  () => [readableByAll()],
);

export type WorkflowTemplate = typeof workflowTemplates.pg.$inferSelect;
export type NewWorkflowTemplate = typeof workflowTemplates.pg.$inferInsert;
