import { type DomainContext, run, statement } from '@exora/core';
import { asc, eq } from 'drizzle-orm';
import { type WorkflowTemplate, workflowTemplates } from '../schema/workflow-templates.ts';

const listActive = statement.many(
  'workflowTemplates.list',
  workflowTemplates,
  [],
  ({ db, t }) =>
    db.select().from(t).where(eq(t.isActive, true)).orderBy(asc(t.category), asc(t.name)),
  { stale: true },
);

/** The workflow catalog, readable by everyone. */
export function createWorkflowTemplatesRepository(ctx: DomainContext) {
  return {
    list(): Promise<WorkflowTemplate[]> {
      return run(ctx, listActive, {});
    },
  };
}
