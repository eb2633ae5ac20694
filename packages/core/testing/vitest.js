// Plain JavaScript on purpose: a package's vitest.config.ts imports this before anything can
// compile TypeScript (Node loads the config's imports itself), so it must run as it is.
import { fileURLToPath } from 'node:url';

const SOURCE_CONDITIONS = ['@exora/source', 'module', 'node', 'development|production'];

/**
 * The shared vitest settings of every package with database tests: the core's globalSetup (one
 * Postgres server for the run: TEST_DATABASE_URL, 127.0.0.1:5432 or a throwaway one; each test
 * file creates its own databases in it) and timeouts long enough for that. A package's
 * `vitest.config.ts` is `export default defineConfig(vitestPreset())`.
 *
 * @param {import('./vitest.d.ts').VitestPresetOptions} [options]
 */
export function vitestPreset(options = {}) {
  return {
    // Workspace packages from their TypeScript source (the exports' source condition), so tests
    // never need a build; Node's own resolution gets it from .npmrc's node-options.
    resolve: { conditions: SOURCE_CONDITIONS },
    ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
    test: {
      globalSetup: [fileURLToPath(new URL('./global-setup.ts', import.meta.url))],
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: options.hookTimeout ?? 60_000,
    },
  };
}
