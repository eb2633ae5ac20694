// The workspace's published packages and their tarballs, shared by check-packages.mjs and
// pack-test.mjs. A published package is a library under packages/ built by the shared preset.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `{ name, dir }` of every library that `exora-build` builds. */
function publishedPackages() {
  const out = [];
  for (const entry of readdirSync(join(root, 'packages')).sort()) {
    const dir = join(root, 'packages', entry);
    const manifestPath = join(dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (manifest.scripts?.build === 'exora-build') out.push({ name: manifest.name, dir });
  }
  return out;
}

/**
 * Packs every published package with `pnpm pack` (which turns `workspace:*` and `catalog:`
 * into versions and applies `publishConfig`) into `destination`; needs `pnpm build` first.
 * Returns `{ name, dir, tarball }`.
 */
export function packAll(destination) {
  return publishedPackages().map((pkg) => {
    if (!existsSync(join(pkg.dir, 'dist'))) {
      throw new Error(`${pkg.name} has no dist/: run pnpm build first`);
    }
    const printed = execFileSync('pnpm', ['pack', '--pack-destination', destination], {
      cwd: pkg.dir,
      encoding: 'utf8',
    });
    const tarball = printed.trim().split('\n').at(-1)?.trim() ?? '';
    if (!tarball.endsWith('.tgz') || !existsSync(tarball)) {
      throw new Error(`pnpm pack printed no tarball for ${pkg.name}`);
    }
    return { ...pkg, tarball };
  });
}
