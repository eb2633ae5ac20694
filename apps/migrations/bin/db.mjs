#!/usr/bin/env node
/**
 * `pnpm db:<command>`: the migrations CLI as plain JavaScript.
 *
 * Run through tsx, a push spent about 1 s of its 2 s in tsx's loader (every module of the CLI
 * and of the schema packages resolved and transformed on each start). So this bundles
 * `src/cli.ts` with the workspace packages it imports into one ES module (esbuild) and runs that
 * with node. The bundle is reused while every source file it was built from has the same
 * contents (hashed on each start: a few ms, where a build costs 100-150 ms of a 0.5 s push) and
 * the workspace manifests and installed dependencies are the same, so it is never older than
 * the source.
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
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

async function runFromSource() {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(pathToFileURL(join(APP_DIR, 'src', 'cli.ts')).href);
  return main(argv);
}

async function runBundled() {
  mkdirSync(CACHE_DIR, { recursive: true });
  const linked = linkDependencies();
  const bundle = reusableBundle(linked) ?? (await buildBundle(linked));
  globalThis[Symbol.for('exora.migrations.cli')] = {
    fingerprint: bundle.fingerprint,
    cacheDir: CACHE_DIR,
  };
  const { main } = await import(pathToFileURL(bundle.file).href);
  return await main(argv);
}

const MANIFEST = join(CACHE_DIR, 'bundle.json');

/** What decides how imports resolve: every workspace manifest and each dependency's location. */
function resolutionKey(linked) {
  const hash = createHash('sha256');
  for (const dir of workspaceDirs()) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) hash.update(`${file}\0`).update(readFileSync(file)).update('\0');
  }
  for (const [name, target] of [...linked].sort()) hash.update(`${name}\0${target}\0`);
  return hash.digest('hex');
}

const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The bundle of an earlier run, when nothing it was built from has changed since. */
function reusableBundle(linked) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.resolution !== resolutionKey(linked)) return undefined;
  if (!existsSync(manifest.file)) return undefined;
  for (const [path, hash] of Object.entries(manifest.inputs)) {
    try {
      if (sha256(path) !== hash) return undefined;
    } catch {
      return undefined; // an input was deleted or renamed
    }
  }
  return manifest;
}

/**
 * Bundles the CLI and records what it was built from. Files are written under a temporary name
 * and renamed into place, so two commands started at once never read a half-written file.
 */
async function buildBundle(linked) {
  const { build } = await import('esbuild');
  const tmp = join(CACHE_DIR, `cli.${process.pid}.tmp.mjs`);
  const result = await build({
    entryPoints: [join(APP_DIR, 'src', 'cli.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Workspace packages from their TypeScript source, as tests and tsx take them.
    conditions: ['@exora/source'],
    logLevel: 'error',
    metafile: true,
    absWorkingDir: APP_DIR,
    external: [...linked.keys()].flatMap((name) => [name, `${name}/*`]),
  });
  const code = readFileSync(tmp);
  // What results are remembered by (see src/cache.ts): the bundle holds every line of the CLI
  // and the schema; the installed path of each package says its version (and patch).
  const fingerprint = createHash('sha256').update(code);
  for (const [name, target] of [...linked].sort()) fingerprint.update(`\0${name}\0${target}`);
  const digest = fingerprint.digest('hex');
  const file = join(CACHE_DIR, `cli-${digest.slice(0, 16)}.mjs`);
  renameSync(tmp, file);
  const inputs = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = resolve(APP_DIR, input);
    inputs[path] = sha256(path);
  }
  const manifest = { file, fingerprint: digest, resolution: resolutionKey(linked), inputs };
  const manifestTmp = `${MANIFEST}.${process.pid}`;
  writeFileSync(manifestTmp, JSON.stringify(manifest));
  renameSync(manifestTmp, MANIFEST);
  removeOldBundles(file);
  return manifest;
}

/** Bundles of older sources, once no command can still be about to import them. */
function removeOldBundles(keep) {
  const now = Date.now();
  for (const name of readdirSync(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    if (path === keep || !/^cli[-.].*\.mjs$/.test(name)) continue;
    try {
      if (now - statSync(path).mtimeMs > 60_000) rmSync(path, { force: true });
    } catch {
      // removed by another command meanwhile
    }
  }
}

function workspaceDirs() {
  const packagesDir = join(APP_DIR, '..', '..', 'packages');
  return [APP_DIR, ...readdirSync(packagesDir).map((d) => join(packagesDir, d))];
}

/**
 * Links every third-party dependency of the workspace packages (and of this app) into
 * CACHE_DIR/node_modules, where the bundle looks for them; returns name -> installed folder.
 * A link that points at another installed copy (after an upgrade) is replaced.
 */
function linkDependencies() {
  const dirs = workspaceDirs();
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

process.exitCode = fromSource ? await runFromSource() : await runBundled();
