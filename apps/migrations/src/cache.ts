/**
 * Results the bundled CLI (bin/db.mjs) remembers between runs. Computing them loads drizzle-kit,
 * about 0.4 s of a 1 s push on SQLite, for answers that only change when the code does.
 *
 * Each result is kept under a hash of everything that decides it: the bundle's text (every line
 * of the CLI and of the schema packages, and the installed path, so the version, of drizzle-kit)
 * plus the parts the caller names (dialect, schema label, migration files). Run from source (tsx,
 * vitest) nothing is remembered: there is no bundle to vouch for the code.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Set by bin/db.mjs: the bundle's hash and the folder results are kept in. */
interface BundledCli {
  fingerprint: string;
  cacheDir: string;
}

const RESULTS_KEPT = 64;

function bundled(): BundledCli | undefined {
  return (globalThis as Record<symbol, BundledCli | undefined>)[Symbol.for('exora.migrations.cli')];
}

/** Every file below `dir` as [relative path, absolute path], in a stable order. */
export function filesBelow(dir: string, prefix = ''): [string, string][] {
  if (!existsSync(dir)) return [];
  const out: [string, string][] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesBelow(path, `${prefix}${entry.name}/`));
    else if (entry.isFile()) out.push([`${prefix}${entry.name}`, path]);
  }
  return out;
}

/** The hash of `parts` (strings, or files by their contents) for the running bundle. */
function keyOf(cli: BundledCli, name: string, parts: readonly (string | { file: string })[]) {
  const hash = createHash('sha256').update(`${cli.fingerprint}\0${name}\0`);
  for (const part of parts) {
    if (typeof part === 'string') hash.update(`s${part.length}:${part}\0`);
    else hash.update(`f${part.file}\0`).update(readFileSync(part.file)).update('\0');
  }
  return hash.digest('hex');
}

function forget(cacheDir: string): void {
  const files = readdirSync(cacheDir)
    .filter((f) => f.endsWith('.result.json'))
    .map((f) => ({ f, t: statSync(join(cacheDir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of files.slice(RESULTS_KEPT)) rmSync(join(cacheDir, f), { force: true });
}

/**
 * `compute()`, or what it returned before for the same `parts` in the same bundle. `keep`
 * decides whether a result is worth remembering (a `current` coverage is; other answers are
 * computed again, as they depend on more than the files).
 */
export async function remembered<T>(
  name: string,
  parts: readonly (string | { file: string })[],
  compute: () => Promise<T>,
  keep: (value: T) => boolean = () => true,
): Promise<T> {
  const cli = bundled();
  if (!cli) return compute();
  let file: string;
  try {
    file = join(cli.cacheDir, `${name}-${keyOf(cli, name, parts)}.result.json`);
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return compute();
  }
  const value = await compute();
  if (keep(value)) {
    try {
      const temporary = `${file}.${process.pid}`;
      writeFileSync(temporary, JSON.stringify(value));
      renameSync(temporary, file);
      forget(cli.cacheDir);
    } catch {
      // A result that cannot be written only costs the next run its speed.
    }
  }
  return value;
}
