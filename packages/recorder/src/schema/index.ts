export * from './health-logs.ts';
export * from './notifications.ts';
export * from './screenshots.ts';
export * from './steps.ts';
export * from './workflows.ts';
