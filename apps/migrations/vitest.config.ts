import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The core's harness: one Postgres server for the run (TEST_DATABASE_URL, 127.0.0.1:5432 or
    // a throwaway one); each test file creates its own databases in it.
    globalSetup: [
      fileURLToPath(new URL('../../packages/core/src/testing/global-setup.ts', import.meta.url)),
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
