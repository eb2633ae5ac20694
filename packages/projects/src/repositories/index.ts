import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createCliSessionsRepository } from './cli-sessions.ts';
import { createDeploymentLogsRepository } from './deployment-logs.ts';
import { createProjectsRepository } from './projects.ts';
import { createToolExecutionsRepository } from './tool-executions.ts';

export * from './cli-sessions.ts';
export * from './deployment-logs.ts';
export * from './projects.ts';
export * from './tool-executions.ts';

/** The projects repositories by name (combined with other domains' by `@exora/db`). */
export const projectsRepositoryFactories = {
  projects: createProjectsRepository,
  toolExecutions: createToolExecutionsRepository,
  deployments: createDeploymentLogsRepository,
  cliSessions: createCliSessionsRepository,
};

/** Every projects repository for one actor, each made at first use. */
export const createProjectsRepositories = lazyRepositories(projectsRepositoryFactories);
export type ProjectsRepositories = RepositoriesOf<typeof projectsRepositoryFactories>;
