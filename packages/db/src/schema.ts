/**
 * Every table of the platform schema, from every domain package: what drizzle-kit, the
 * migrations app and `createDb()` see. Each export is a kit table (`.pg` / `.sqlite`) or a
 * Postgres enum type.
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
