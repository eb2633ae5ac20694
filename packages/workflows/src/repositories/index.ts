import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createUserWorkflowInstancesRepository } from './user-workflow-instances.ts';
import { createWorkflowRunsRepository } from './workflow-runs.ts';
import { createWorkflowTemplatesRepository } from './workflow-templates.ts';

export * from './user-workflow-instances.ts';
export * from './workflow-runs.ts';
export * from './workflow-templates.ts';

/** The workflows repositories by name (combined with other domains' by `@exora/db`). */
export const workflowsRepositoryFactories = {
  workflowTemplates: createWorkflowTemplatesRepository,
  workflowInstances: createUserWorkflowInstancesRepository,
  workflowRuns: createWorkflowRunsRepository,
};

export const createWorkflowsRepositories = lazyRepositories(workflowsRepositoryFactories);
export type WorkflowsRepositories = RepositoriesOf<typeof workflowsRepositoryFactories>;
