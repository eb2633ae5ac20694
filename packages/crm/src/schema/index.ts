export * from './business-discovery-sessions.ts';
export * from './business-profiles.ts';
export * from './entities.ts';
export * from './entity-types.ts';
export * from './leads.ts';
export * from './workflow-recommendations.ts';
