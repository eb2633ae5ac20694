export * from './agent-logs.ts';
export * from './cli-sessions.ts';
export * from './deployment-logs.ts';
export * from './projects.ts';
export * from './tool-executions.ts';
