export * from './automation-workflows.ts';
export * from './user-workflow-instances.ts';
export * from './workflow-templates.ts';
