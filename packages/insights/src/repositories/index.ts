import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createActivityLogsRepository } from './activity-logs.ts';
import { createDashboardsRepository } from './dashboards.ts';
import { createHealthChecksRepository } from './health-checks.ts';
import { createReportsRepository } from './reports.ts';
import { createUserStatisticsRepository } from './user-statistics.ts';

export * from './activity-logs.ts';
export * from './dashboards.ts';
export * from './health-checks.ts';
export * from './reports.ts';
export * from './user-statistics.ts';

/** The insights repositories by name (combined with other domains' by `@exora/db`). */
export const insightsRepositoryFactories = {
  dashboards: createDashboardsRepository,
  userStatistics: createUserStatisticsRepository,
  activityLogs: createActivityLogsRepository,
  healthChecks: createHealthChecksRepository,
  reports: createReportsRepository,
};

export const createInsightsRepositories = lazyRepositories(insightsRepositoryFactories);
export type InsightsRepositories = RepositoriesOf<typeof insightsRepositoryFactories>;
