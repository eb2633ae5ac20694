import type { Dialect } from '../../src/index.ts';
import { bulkSuite } from './bulk.ts';
import { columnSuite } from './columns.ts';
import { type SuiteOptions, useSampleDatabase } from './context.ts';
import { errorSuite } from './errors.ts';
import { staleSuite } from './stale.ts';
import { transactionSuite } from './transactions.ts';

/** Every behaviour of the core, against one dialect (one thin test file per driver). */
export function coreSuites(dialect: Dialect, options: SuiteOptions = {}) {
  const ctx = useSampleDatabase(dialect, options);
  transactionSuite(ctx);
  errorSuite(ctx);
  columnSuite(ctx);
  bulkSuite(ctx);
  staleSuite(ctx);
}
