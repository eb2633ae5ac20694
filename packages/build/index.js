// The build of every published workspace package, shared: `exora-build` (cli.js) in a package's
// `build` script. Plain JavaScript so that it runs before anything is built.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

/** The export condition that points at TypeScript source inside the workspace. */
export const SOURCE_CONDITION = '@exora/source';

const require = createRequire(import.meta.url);

/** The source file of every subpath export that has the source condition (the entries). */
export function sourceEntries(packageDir = process.cwd()) {
  const manifest = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const entries = [];
  for (const target of Object.values(manifest.exports ?? {})) {
    if (target && typeof target === 'object' && typeof target[SOURCE_CONDITION] === 'string') {
      entries.push(target[SOURCE_CONDITION]);
    }
  }
  if (entries.length === 0) {
    throw new Error(`${manifest.name}: no export has the "${SOURCE_CONDITION}" condition`);
  }
  return entries;
}

function* declarationFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* declarationFiles(path);
    else if (name.endsWith('.d.ts')) yield path;
  }
}

/**
 * `.d.ts` beside each `.js`, from tsc (TypeScript 7 has no JavaScript API for a bundler's
 * declaration plugin): relative `.ts` specifiers become `.js`, as in the JavaScript output, so
 * that every consumer's module resolution finds them.
 */
export function emitDeclarations(packageDir = process.cwd()) {
  // The package's own tsconfig.json (its includes are tests too), narrowed to src/.
  const cacheDir = join(packageDir, 'node_modules', '.cache', 'exora-build');
  mkdirSync(cacheDir, { recursive: true });
  const config = join(cacheDir, 'tsconfig.json');
  const settings = {
    extends: join(packageDir, 'tsconfig.json'),
    compilerOptions: {
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      declarationMap: true,
      rootDir: join(packageDir, 'src'),
      outDir: join(packageDir, 'dist'),
    },
    include: [join(packageDir, 'src')],
  };
  writeFileSync(config, JSON.stringify(settings, null, 2));
  const tsc = join(require.resolve('typescript/package.json'), '..', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
  const dist = join(packageDir, 'dist');
  for (const file of declarationFiles(dist)) {
    const text = readFileSync(file, 'utf8');
    const rewritten = text.replace(
      /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g,
      '$1$2.js$3',
    );
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  return relative(packageDir, dist);
}

/**
 * tsdown settings for a workspace library: ESM for Node 20+, one `.js` per source file
 * (unbundled, so stack traces and `.d.ts` line up), source maps, dependencies left external,
 * then the declarations. Entries are the source files of the package's exports.
 */
export function libraryConfig(options = {}) {
  return {
    entry: options.entry ?? sourceEntries(),
    format: 'esm',
    fixedExtension: false,
    platform: 'node',
    target: 'node20',
    unbundle: true,
    sourcemap: true,
    clean: true,
    dts: false,
    outDir: 'dist',
    logLevel: 'warn',
    onSuccess: () => {
      emitDeclarations();
    },
  };
}
