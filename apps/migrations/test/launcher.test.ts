/**
 * bin/db.mjs, what the root `pnpm db:*` scripts run: the CLI bundled on the spot and run with
 * node. It remembers results that need drizzle-kit (see src/cache.ts); these tests make sure a
 * remembered answer never outlives the files it was computed from.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../src/files.ts';
import {
  APP_DIR,
  type ChildResult,
  childResult,
  copyDir,
  envWithoutDatabase,
  fixtureMigrations,
  tempDir,
} from './helpers.ts';

const CACHE_DIR = join(APP_DIR, 'node_modules', '.cache', 'exora-migrations');

function launcher(args: string[]): Promise<ChildResult> {
  return childResult(
    spawn(process.execPath, [join(APP_DIR, 'bin', 'db.mjs'), ...args], {
      cwd: APP_DIR,
      env: envWithoutDatabase(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

const results = (name: string) =>
  existsSync(CACHE_DIR)
    ? readdirSync(CACHE_DIR).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.result.json'))
    : [];

describe('bin/db.mjs', () => {
  it('pushes from the bundle and remembers the coverage of exactly these files', async () => {
    const migrations = copyDir(join(repoRoot(APP_DIR), 'drizzle'));
    const dir = tempDir();
    const first = await launcher([
      'push',
      '--url',
      `file:${join(dir, 'a.db')}`,
      '--dir',
      migrations,
    ]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migrations?; /);
    expect(results('coverage').length).toBeGreaterThan(0);

    const again = await launcher([
      'push',
      '--url',
      `file:${join(dir, 'b.db')}`,
      '--dir',
      migrations,
    ]);
    expect(again.code).toBe(0);
    const appliedNames = (out: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('applied 0'))
        .map((l) => l.split(' ')[1]);
    expect(appliedNames(again.stdout)).toEqual(appliedNames(first.stdout));
    expect(appliedNames(first.stdout).length).toBeGreaterThan(0);

    // Without its newest migration drizzle/ is behind the schema: the remembered "current"
    // belonged to other files and must not be used.
    const sqliteDir = join(migrations, 'sqlite');
    const newest = readdirSync(sqliteDir)
      .filter((f) => /^\d{4}_.*\.sql$/.test(f) && !f.endsWith('.down.sql'))
      .sort()
      .at(-1)!;
    const number = newest.slice(0, 4);
    for (const f of readdirSync(sqliteDir))
      if (f.startsWith(`${number}_`)) rmSync(join(sqliteDir, f));
    rmSync(join(sqliteDir, 'meta', `${number}_snapshot.json`));
    const behind = await launcher([
      'push',
      '--url',
      `file:${join(dir, 'c.db')}`,
      '--dir',
      migrations,
    ]);
    expect(behind.code).toBe(1);
    expect(behind.stderr).toContain('is behind the schema');
    expect(existsSync(join(dir, 'c.db'))).toBe(true);
  });

  it('reuses the bundle only while every file it was built from is unchanged', async () => {
    const manifestFile = join(CACHE_DIR, 'bundle.json');
    const push = () => launcher(['push', '--url', `file:${join(tempDir(), 's.db')}`]);
    expect((await push()).code).toBe(0);
    const built = JSON.parse(readFileSync(manifestFile, 'utf8'));
    const inputs = Object.keys(built.inputs);
    // The CLI's own source and the schema packages it imports are among them.
    expect(inputs).toContain(join(APP_DIR, 'src', 'cli.ts'));
    expect(inputs.some((p) => p.includes(join('packages', 'core', 'src')))).toBe(true);

    // Unchanged: the same bundle is run again and the manifest is not rewritten.
    expect((await push()).code).toBe(0);
    expect(readFileSync(manifestFile, 'utf8')).toBe(JSON.stringify(built));

    // An input whose contents no longer match what was recorded (as after an edit): rebuilt, and
    // the manifest records the file's real contents again.
    const input = join(APP_DIR, 'src', 'cli.ts');
    writeFileSync(
      manifestFile,
      JSON.stringify({ ...built, inputs: { ...built.inputs, [input]: 'edited' } }),
    );
    expect((await push()).code).toBe(0);
    const rebuilt = JSON.parse(readFileSync(manifestFile, 'utf8'));
    expect(rebuilt.inputs[input]).toBe(built.inputs[input]);

    // A recorded input that no longer exists (renamed or deleted): rebuilt too.
    const gone = join(APP_DIR, 'src', 'gone.ts');
    writeFileSync(
      manifestFile,
      JSON.stringify({ ...built, inputs: { ...built.inputs, [gone]: 'x' } }),
    );
    expect((await push()).code).toBe(0);
    expect(Object.keys(JSON.parse(readFileSync(manifestFile, 'utf8')).inputs)).not.toContain(gone);
  });

  it('runs --schema files from source, and leaves no bundle behind', async () => {
    const dir = tempDir();
    const migrations = await fixtureMigrations();
    const run = await launcher([
      'push',
      '--url',
      `file:${join(dir, 'x.db')}`,
      '--dir',
      migrations,
      '--schema',
      join(APP_DIR, 'test', 'fixtures', 'v2.ts'),
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(readdirSync(CACHE_DIR).filter((f) => /^cli\.\d+\.tmp\.mjs$/.test(f))).toEqual([]);
  });
});
