import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createActivityLogsRepository } from './activity-logs.ts';
import { createDashboardsRepository } from './dashboards.ts';
import { createUserStatisticsRepository } from './user-statistics.ts';

export * from './activity-logs.ts';
export * from './dashboards.ts';
export * from './user-statistics.ts';

/** The insights repositories by name (combined with other domains' by `@exora/db`). */
export const insightsRepositoryFactories = {
  dashboards: createDashboardsRepository,
  userStatistics: createUserStatisticsRepository,
  activityLogs: createActivityLogsRepository,
};

export const createInsightsRepositories = lazyRepositories(insightsRepositoryFactories);
export type InsightsRepositories = RepositoriesOf<typeof insightsRepositoryFactories>;
