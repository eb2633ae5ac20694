/**
 * Every table of the platform schema, from every domain package, and the analytics views: what
 * drizzle-kit, the migrations app and `createDb()` see. Each export is a kit table (`.pg` /
 * `.sqlite`), a Postgres enum type or a kit view (a custom SQL object for the migrations).
 */

export * from '@exora/agents/schema';
export * from '@exora/conversations/schema';
export * from '@exora/crm/schema';
export * from '@exora/identity/schema';
export * from '@exora/insights/schema';
export * from '@exora/notifications/schema';
export * from '@exora/projects/schema';
export * from '@exora/recorder/schema';
export * from '@exora/vault/schema';
export * from '@exora/workflows/schema';
export * from './views.ts';
