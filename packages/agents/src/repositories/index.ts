import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createAgentActivitiesRepository } from './agent-activities.ts';
import { createAgentMessagesRepository } from './agent-messages.ts';
import { createAgentMetricsRepository } from './agent-metrics.ts';
import { createAgentTemplatesRepository } from './agent-templates.ts';
import { createUserAgentsRepository } from './user-agents.ts';

export * from './agent-activities.ts';
export * from './agent-messages.ts';
export * from './agent-metrics.ts';
export * from './agent-templates.ts';
export * from './user-agents.ts';

/** The agents repositories by name (combined with other domains' by `@exora/db`). */
export const agentsRepositoryFactories = {
  agentTemplates: createAgentTemplatesRepository,
  userAgents: createUserAgentsRepository,
  agentActivities: createAgentActivitiesRepository,
  agentMetrics: createAgentMetricsRepository,
  agentMessages: createAgentMessagesRepository,
};

/** Every agents repository for one actor, each made at first use. */
export const createAgentsRepositories = lazyRepositories(agentsRepositoryFactories);
export type AgentsRepositories = RepositoriesOf<typeof agentsRepositoryFactories>;
