export * from './automation-workflows.ts';
export * from './schedules.ts';
export * from './task-logs.ts';
export * from './user-workflow-instances.ts';
export * from './workflow-executions.ts';
export * from './workflow-runs.ts';
export * from './workflow-templates.ts';
