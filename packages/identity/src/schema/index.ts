export * from './organizations.ts';
export * from './sessions.ts';
export * from './setup-progress.ts';
export * from './subdomain-configs.ts';
export * from './user-profiles.ts';
export * from './users.ts';
export * from './users-guard.ts';
