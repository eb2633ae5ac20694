import { afterAll, beforeAll } from 'vitest';
import { connect, type Database, type Dialect } from '../../src/index.ts';
import {
  createTestDatabase,
  type Pooler,
  providePooler,
  type TestDatabase,
} from '../../testing/index.ts';
import * as sample from '../../testing/sample-schema.ts';

export interface SuiteContext {
  dialect: Dialect;
  /** The database of this test file, created in beforeAll. */
  db(): Database;
}

export interface SuiteOptions {
  /** Postgres through a transaction-mode PgBouncer (the schema is created directly). */
  pooler?: boolean;
}

/** Opens this file's own database with the sample schema for the dialect under test. */
export function useSampleDatabase(dialect: Dialect, options: SuiteOptions = {}): SuiteContext {
  let test: TestDatabase | undefined;
  let pooler: Pooler | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    test = await createTestDatabase(dialect, [sample]);
    db = test.db;
    if (options.pooler) {
      pooler = await providePooler(test.url);
      db = connect(pooler.via(test.url), { schema: [sample] });
    }
  });
  afterAll(async () => {
    if (db !== test?.db) await db?.close();
    await pooler?.stop();
    await test?.dispose();
  });
  return {
    dialect,
    db() {
      if (!db) throw new Error('database not ready');
      return db;
    },
  };
}
