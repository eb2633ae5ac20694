export * from './api-keys.ts';
export * from './credentials.ts';
export * from './integrations.ts';
export * from './oauth-tokens.ts';
