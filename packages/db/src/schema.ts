/**
 * Every table of the platform schema, from every domain package: what drizzle-kit, the
 * migrations app and `createDb()` see. Each export is a kit table (`.pg` / `.sqlite`) or a
 * Postgres enum type.
 */
export * from '@exora/identity/schema';
export * from '@exora/vault/schema';
