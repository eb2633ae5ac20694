import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createSchedulesRepository } from './schedules.ts';
import { createTaskLogsRepository } from './task-logs.ts';
import { createUserWorkflowInstancesRepository } from './user-workflow-instances.ts';
import { createWorkflowExecutionsRepository } from './workflow-executions.ts';
import { createWorkflowRunsRepository } from './workflow-runs.ts';
import { createWorkflowTemplatesRepository } from './workflow-templates.ts';

export * from './schedules.ts';
export * from './task-logs.ts';
export * from './user-workflow-instances.ts';
export * from './workflow-executions.ts';
export * from './workflow-runs.ts';
export * from './workflow-templates.ts';

/** The workflows repositories by name (combined with other domains' by `@exora/db`). */
export const workflowsRepositoryFactories = {
  workflowTemplates: createWorkflowTemplatesRepository,
  workflowInstances: createUserWorkflowInstancesRepository,
  workflowRuns: createWorkflowRunsRepository,
  schedules: createSchedulesRepository,
  taskLogs: createTaskLogsRepository,
  workflowExecutions: createWorkflowExecutionsRepository,
};

export const createWorkflowsRepositories = lazyRepositories(workflowsRepositoryFactories);
export type WorkflowsRepositories = RepositoriesOf<typeof workflowsRepositoryFactories>;
