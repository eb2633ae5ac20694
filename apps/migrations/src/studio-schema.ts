/**
 * The schema drizzle-kit studio loads (see drizzle.config.ts): one dialect's Drizzle tables of
 * `@exora/db/schema` (or of the module files listed in EXORA_SCHEMA, comma-separated), as this
 * module's exports. drizzle-kit loads it as CommonJS, so the tables, whose names depend on the
 * schema, are assigned to `exports`. Never import it from ES modules.
 */
import { resolve } from 'node:path';
import { dialectSchema, isPostgresUrl, resolveDatabaseUrl, type SchemaModule } from '@exora/core';

const dialect = isPostgresUrl(resolveDatabaseUrl()) ? 'postgres' : 'sqlite';
const modules: SchemaModule[] = process.env.EXORA_SCHEMA
  ? process.env.EXORA_SCHEMA.split(',').map((p) => require(resolve(p.trim())))
  : [require('@exora/db/schema')];
Object.assign(exports, dialectSchema(dialect, ...modules));
