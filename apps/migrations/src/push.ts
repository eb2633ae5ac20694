/**
 * `db:push`: brings a database to the current schema = the committed migrations it lacks, then
 * the reference rows. It refuses when the schema has changes no migration covers (run
 * `pnpm db:generate`), so it never reports success for a database that does not match.
 */
import type { Database, Dialect } from '@exora/core';
import { StaleMigrationsError } from './errors.ts';
import { pendingChange } from './generate.ts';
import { type MigrateOptions, migrate } from './migrator.ts';
import { type SeedResult, seed } from './seed.ts';
import type { SchemaSource } from './source.ts';

/** Throws when `drizzle/<dialect>` is behind the schema. */
export async function assertMigrationsCurrent(
  source: SchemaSource,
  dir: string,
  dialect: Dialect,
): Promise<void> {
  const { plan } = await pendingChange(source, dir, dialect);
  if (plan.empty) return;
  const sample = plan.up.statements[0]!.split('\n')[0]!.slice(0, 100);
  throw new StaleMigrationsError(
    `${dir}/${dialect} is behind the schema (${source.label}): ${plan.up.statements.length} ` +
      `statement(s) are in no migration, starting with: ${sample}\n` +
      'Run `pnpm db:generate` and commit drizzle/, then push again. Nothing was applied.',
  );
}

export interface PushResult {
  applied: string[];
  seed: SeedResult;
}

export async function push(
  db: Database,
  dir: string,
  source: SchemaSource,
  options: MigrateOptions = {},
): Promise<PushResult> {
  await assertMigrationsCurrent(source, dir, db.dialect);
  const { applied } = await migrate(db, dir, options);
  return { applied, seed: await seed(db, source) };
}
