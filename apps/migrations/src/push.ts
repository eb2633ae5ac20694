/**
 * `db:push`: brings a database to the current schema = the committed migrations it lacks, then
 * the reference rows. It refuses when the schema has changes no migration covers (run
 * `pnpm db:generate`), so it never reports success for a database that does not match.
 */
import type { Database, Dialect } from '@exora/core';
import { coverage, coverageAdvice } from './coverage.ts';
import { StaleMigrationsError } from './errors.ts';
import { type MigrateOptions, migrate, readHistory } from './migrator.ts';
import { type SeedResult, seed } from './seed.ts';
import type { SchemaSource } from './source.ts';

/**
 * Throws when `drizzle/<dialect>` does not cover the schema: behind it (run `pnpm db:generate`)
 * or ahead of it (a generated migration whose schema change was undone: delete it). `applied`
 * are the migrations the database has, to say which of those to roll back first.
 */
export async function assertMigrationsCurrent(
  source: SchemaSource,
  dir: string,
  dialect: Dialect,
  applied: readonly string[] = [],
): Promise<void> {
  const c = await coverage(source, dir, dialect);
  if (c.state === 'current') return;
  const advice = coverageAdvice(
    c,
    c.ahead.filter((n) => applied.includes(n)),
  );
  throw new StaleMigrationsError(
    `${advice}${c.state === 'behind' ? ' Then push again.' : ''} Nothing was applied.`,
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
  const history = await readHistory(db);
  await assertMigrationsCurrent(
    source,
    dir,
    db.dialect,
    history.map((h) => h.name),
  );
  const { applied } = await migrate(db, dir, options);
  return { applied, seed: await seed(db, source) };
}
