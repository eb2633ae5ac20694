export * from './activity-logs.ts';
export * from './dashboard-data.ts';
export * from './statistics.ts';
export * from './user-dashboard-preferences.ts';
export * from './user-statistics.ts';
