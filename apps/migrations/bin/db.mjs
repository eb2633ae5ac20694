#!/usr/bin/env node
/**
 * `pnpm db:<command>`: the migrations CLI as plain JavaScript.
 *
 * Run through tsx, a push spent about 1 s of its 2 s in tsx's loader (every module of the CLI
 * and of the schema packages resolved and transformed on each start). So this bundles
 * `src/cli.ts` with the workspace packages it imports into one ES module (esbuild, about 70 ms),
 * on every start, so it can never be older than the source, and runs that with node.
 * Third-party packages stay outside the bundle: each workspace package's dependencies are linked
 * into the bundle's folder from where pnpm installed them for that package (an esbuild plugin
 * resolving each import instead took 350 ms). `--schema` (TypeScript files named at run time) and `studio` (which starts drizzle-kit
 * from the app's folder) run from source through tsx, as before.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE_DIR = join(APP_DIR, 'node_modules', '.cache', 'exora-migrations');
const argv = process.argv.slice(2);

// Output piped into `head` and the like: stop quietly when the reader goes away.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const fromSource =
  argv[0] === 'studio' || argv.some((a) => a === '--schema' || a.startsWith('--schema='));
process.exitCode = fromSource ? await runFromSource() : await runBundled();

async function runFromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(join(APP_DIR, 'src', 'cli.ts')).href);
  return main(argv);
}

async function runBundled() {
  const { build } = await import('esbuild');
  mkdirSync(CACHE_DIR, { recursive: true });
  // One file per process: two commands started at once never read each other's half-written file.
  const outfile = join(CACHE_DIR, `cli.${process.pid}.mjs`);
  const linked = linkDependencies();
  try {
    await build({
      entryPoints: [join(APP_DIR, 'src', 'cli.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // Workspace packages from their TypeScript source, as tests and tsx take them.
      conditions: ['@exora/source'],
      logLevel: 'error',
      external: [...linked.keys()].flatMap((name) => [name, `${name}/*`]),
    });
    const code = readFileSync(outfile);
    // What results are remembered by (see src/cache.ts): the bundle holds every line of the CLI
    // and the schema; the installed path of each package says its version (and patch).
    const fingerprint = createHash('sha256').update(code);
    for (const [name, target] of [...linked].sort()) fingerprint.update(`\0${name}\0${target}`);
    globalThis[Symbol.for('exora.migrations.cli')] = {
      fingerprint: fingerprint.digest('hex'),
      cacheDir: CACHE_DIR,
    };
    const { main } = await import(pathToFileURL(outfile).href);
    return await main(argv);
  } finally {
    rmSync(outfile, { force: true });
  }
}

/**
 * Links every third-party dependency of the workspace packages (and of this app) into
 * CACHE_DIR/node_modules, where the bundle looks for them; returns name -> installed folder.
 * A link that points at another installed copy (after an upgrade) is replaced.
 */
function linkDependencies() {
  const root = join(APP_DIR, '..', '..');
  const packagesDir = join(root, 'packages');
  const dirs = [APP_DIR, ...readdirSync(packagesDir).map((d) => join(packagesDir, d))];
  const linked = new Map();
  for (const dir of dirs) {
    let manifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    for (const [name, version] of Object.entries(manifest.dependencies ?? {})) {
      if (linked.has(name) || String(version).startsWith('workspace:')) continue;
      const installed = join(dir, 'node_modules', name);
      if (!existsSync(installed)) continue;
      const target = realpathSync(installed);
      linked.set(name, target);
      const link = join(CACHE_DIR, 'node_modules', name);
      let current;
      try {
        current = readlinkSync(link);
      } catch {
        current = undefined;
      }
      if (current === target) continue;
      mkdirSync(dirname(link), { recursive: true });
      rmSync(link, { force: true });
      try {
        symlinkSync(target, link, 'dir');
      } catch (error) {
        // Another command started at the same moment made the same link.
        if (error.code !== 'EEXIST') throw error;
      }
    }
  }
  return linked;
}
