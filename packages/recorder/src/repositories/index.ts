import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createHealthLogsRepository } from './health-logs.ts';
import { createRecorderNotificationsRepository } from './notifications.ts';
import { createScreenshotsRepository } from './screenshots.ts';
import { createStepsRepository } from './steps.ts';
import { createRecordedWorkflowsRepository } from './workflows.ts';

export * from './health-logs.ts';
export * from './notifications.ts';
export * from './screenshots.ts';
export * from './steps.ts';
export * from './workflows.ts';

/** The recorder repositories by name (combined with other domains' by `@exora/db`). */
export const recorderRepositoryFactories = {
  workflows: createRecordedWorkflowsRepository,
  steps: createStepsRepository,
  screenshots: createScreenshotsRepository,
  healthLogs: createHealthLogsRepository,
  notifications: createRecorderNotificationsRepository,
};

export const createRecorderRepositories = lazyRepositories(recorderRepositoryFactories);
export type RecorderRepositories = RepositoriesOf<typeof recorderRepositoryFactories>;
