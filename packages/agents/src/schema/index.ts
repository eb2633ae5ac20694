export * from './agent-activities.ts';
export * from './agent-messages.ts';
export * from './agent-metrics.ts';
export * from './agent-templates.ts';
export * from './user-agents.ts';
