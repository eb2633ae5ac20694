import type { Dialect } from '@exora/core';
import { changesSuite } from './changes.ts';
import { concurrencySuite } from './concurrency.ts';
import { useMigrationsContext } from './context.ts';
import { historySuite } from './history.ts';
import { pushSuite } from './push.ts';
import { rlsSuite } from './rls.ts';
import { seedSuite } from './seed.ts';
import { verifySuite } from './verify.ts';

/** Every behaviour of the migrations app against one dialect (one thin file per dialect). */
export function migrationSuites(dialect: Dialect) {
  const ctx = useMigrationsContext(dialect);
  pushSuite(ctx);
  verifySuite(ctx);
  historySuite(ctx);
  changesSuite(ctx);
  seedSuite(ctx);
  concurrencySuite(ctx);
  rlsSuite(ctx);
}
