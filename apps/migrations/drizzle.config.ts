/**
 * drizzle-kit studio on the configured database (`pnpm db:studio`): the dialect comes from
 * DATABASE_URL (default: the SQLite file data/exora.db at the repository root), the tables from
 * `studio-schema.ts`, which hands drizzle-kit that dialect's tables of `@exora/db/schema`.
 * Only for studio: migrations are generated and applied by src/cli.ts, never by drizzle-kit.
 */
import { isPostgresUrl } from '@exora/core';
import { defineConfig } from 'drizzle-kit';
import { databaseUrl } from './src/files.ts';

const url = databaseUrl();

export default defineConfig({
  schema: './src/studio-schema.ts',
  ...(isPostgresUrl(url)
    ? { dialect: 'postgresql', dbCredentials: { url } }
    : { dialect: 'sqlite', dbCredentials: { url } }),
});
