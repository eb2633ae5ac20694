#!/usr/bin/env node
// Boundaries between workspace packages: a file may reach another package only by its name
// (`@exora/core/testing`), never by a relative path into its folder (`../../packages/core/src/...`;
// repository files outside packages/ and apps/, such as docs/, may be read), so that
// every cross-package use goes through that package's `exports` and works the same once
// installed from a tarball. Checks static and dynamic imports, re-exports, `require` and
// `new URL('…', import.meta.url)` in every source file of packages/* and apps/*.
// Also: every dependency of a workspace package that is not itself in the workspace is
// `catalog:` (one version for all, in pnpm-workspace.yaml), and every library package uses the
// shared build preset with exports in its shape, and no comment in src/ names the seed a column
// came from (docs/seed-coverage.md does) or a design document outside the repository.
// Exits 1 listing each offending file:line and specifier.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(?:[cm]?[jt]sx?)$/;
const SKIP = new Set(['node_modules', 'dist', '.turbo', 'coverage']);
const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\bnew\s+URL\s*\(\s*)(['"`])(\.{1,2}\/[^'"`]*)\1/g;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (SOURCE.test(name)) yield path;
  }
}

const SOURCE_CONDITION = '@exora/source';
const PROVENANCE = /\bseeds? ?-?0\d\d\b|\b(?:DOMAINS|CORE)\.md\b/gi;

/**
 * A library (packages/<name> with src/index.ts) builds with the shared preset and exports each
 * entry as source for the workspace and as built files for everyone else (README, "Packages").
 */
function buildPresetProblems(manifest) {
  const problems = [];
  if (manifest.scripts?.build !== 'exora-build') problems.push('scripts.build is not exora-build');
  if (manifest.devDependencies?.['@exora/build'] !== 'workspace:*') {
    problems.push('devDependencies lack "@exora/build": "workspace:*"');
  }
  if (!manifest.files?.includes('dist')) problems.push('files does not list dist');
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const source = typeof target === 'string' ? target : target?.[SOURCE_CONDITION];
    if (typeof source !== 'string' || !source.startsWith('./src/')) continue;
    const built = source.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '');
    const keys = typeof target === 'object' ? Object.keys(target).join(',') : '';
    if (
      keys !== `${SOURCE_CONDITION},types,import` ||
      target.types !== `${built}.d.ts` ||
      target.import !== `${built}.js`
    ) {
      problems.push(
        `exports["${subpath}"] is not { "${SOURCE_CONDITION}": "${source}", "types": "${built}.d.ts", "import": "${built}.js" }`,
      );
    }
  }
  return problems;
}

const problems = [];
for (const group of ['packages', 'apps']) {
  const groupDir = join(root, group);
  for (const name of readdirSync(groupDir)) {
    const packageRoot = join(groupDir, name);
    if (!statSync(packageRoot).isDirectory()) continue;
    const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      for (const [dependency, range] of Object.entries(manifest[field] ?? {})) {
        if (range.startsWith('workspace:') || range === 'catalog:') continue;
        problems.push(`${group}/${name}/package.json: ${field} ${dependency} is not catalog:`);
      }
    }
    if (group === 'packages' && existsSync(join(packageRoot, 'src', 'index.ts'))) {
      for (const problem of buildPresetProblems(manifest)) {
        problems.push(`${group}/${name}/package.json: ${problem}`);
      }
    }
    for (const file of files(packageRoot)) {
      const text = readFileSync(file, 'utf8');
      // Comments say what and why: where a column came from lives in docs/seed-coverage.md, and
      // no comment sends the reader to a document outside the repository.
      if (file.includes(`${sep}src${sep}`)) {
        for (const match of text.matchAll(PROVENANCE)) {
          const line = text.slice(0, match.index).split('\n').length;
          problems.push(`${relative(root, file)}:${line}: comment names "${match[0]}"`);
        }
      }
      for (const match of text.matchAll(SPECIFIER)) {
        const target = resolve(dirname(file), match[2]);
        // Into another package's folder: repository files such as docs/ may be read.
        const into = relative(root, target).split(sep);
        if (!['packages', 'apps'].includes(into[0] ?? '') || into.length < 2) continue;
        if (target === packageRoot || target.startsWith(packageRoot + sep)) continue;
        const line = text.slice(0, match.index).split('\n').length;
        problems.push(`${relative(root, file)}:${line}: ${match[2]}`);
      }
    }
  }
}

if (problems.length > 0) {
  console.error(
    'Relative paths into another package (import it by name and add it to the exports),\n' +
      'dependencies outside the catalog (add the version to pnpm-workspace.yaml), and libraries\n' +
      'off the build preset (README, "Packages"), and comments naming a seed or an outside document:',
  );
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log(
  'boundaries: no relative path into another package; every dependency is catalog:; every library on the build preset',
);
