import { type DomainContext, run, statement } from '@exora/core';
import { asc, eq } from 'drizzle-orm';
import { type AgentTemplate, agentTemplates } from '../schema/agent-templates.ts';

const listActive = statement.many(
  'agentTemplates.list',
  agentTemplates,
  [],
  ({ db, t }) => db.select().from(t).where(eq(t.isActive, true)).orderBy(asc(t.name)),
  { stale: true },
);

/** The agent catalog, readable by everyone. */
export function createAgentTemplatesRepository(ctx: DomainContext) {
  return {
    /** The templates users can start an agent from, by name. */
    list(): Promise<AgentTemplate[]> {
      return run(ctx, listActive, {});
    },
  };
}
