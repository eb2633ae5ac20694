#!/usr/bin/env node
// Lints what would be published, from the tarballs themselves (after `pnpm build`): publint
// (package.json fields against the files packed) and @arethetypeswrong/cli with its esm-only
// profile (types resolve like the JavaScript under node16 and bundler resolution; CommonJS
// consumers use import(), which that profile accepts). Prints each tarball's size; exits 1 on
// any problem.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { packAll, root } from './packages.mjs';

const bin = (name) => join(root, 'node_modules', '.bin', name);
const destination = mkdtempSync(join(tmpdir(), 'exora-pack-'));
let failed = 0;
try {
  for (const { name, tarball } of packAll(destination)) {
    const kib = (statSync(tarball).size / 1024).toFixed(1);
    for (const [tool, args] of [
      ['publint', [tarball, '--strict']],
      ['attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      try {
        execFileSync(bin(tool), args, { stdio: 'pipe', encoding: 'utf8' });
      } catch (error) {
        failed++;
        console.error(`${name}: ${tool} failed\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      }
    }
    console.log(`${name}: ${basename(tarball)} ${kib} KiB, publint and attw checked`);
  }
} finally {
  rmSync(destination, { recursive: true, force: true });
}
if (failed > 0) process.exit(1);
