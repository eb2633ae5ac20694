import { afterAll, beforeAll } from 'vitest';
import type { Database, Dialect } from '../../src/index.ts';
import { createTestDatabase, type TestDatabase } from '../../testing/index.ts';
import * as sample from '../../testing/sample-schema.ts';

export interface SuiteContext {
  dialect: Dialect;
  /** The database of this test file, created in beforeAll. */
  db(): Database;
}

/** Opens this file's own database with the sample schema for the dialect under test. */
export function useSampleDatabase(dialect: Dialect): SuiteContext {
  let test: TestDatabase | undefined;
  beforeAll(async () => {
    test = await createTestDatabase(dialect, [sample]);
  });
  afterAll(async () => {
    await test?.dispose();
  });
  return {
    dialect,
    db() {
      if (!test) throw new Error('database not ready');
      return test.db;
    },
  };
}
