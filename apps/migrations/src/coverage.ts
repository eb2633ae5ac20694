/**
 * Whether `drizzle/<dialect>` covers the schema, and in which direction it does not:
 *
 *  - `current`: the newest snapshot is the schema.
 *  - `behind`: the schema has changes no migration covers (run `pnpm db:generate`).
 *  - `ahead`: the schema equals an older snapshot, so the newest migrations describe a change
 *    the code no longer has, typically a generated migration left behind after `git checkout .`
 *    (git leaves the new, untracked files). Generating would write their reverse; the fix is to
 *    delete them (after rolling them back where they were applied) or restore the change.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { Dialect } from '@exora/core';
import { filesBelow, remembered } from './cache.ts';
import { planMigration } from './diff.ts';
import { firstLine } from './errors.ts';
import { dialectDir, type MigrationFile, readSnapshot } from './files.ts';
import { pendingChange } from './generate.ts';
import type { SchemaSource } from './source.ts';

export interface Coverage {
  dialect: Dialect;
  /** The schema's label (`@exora/db/schema`, a fixture path). */
  schema: string;
  /** `drizzle/<dialect>` */
  dir: string;
  state: 'current' | 'behind' | 'ahead';
  /** behind: how many statements no migration covers, and the first of them. */
  uncovered: number;
  sample?: string;
  /** ahead: the migrations past the schema, oldest first. */
  ahead: string[];
  /** ahead: those of them whose files git does not track (generated, never committed). */
  untracked: string[];
}

/** Names of migrations whose up file git reports as untracked; [] outside a repository. */
function untrackedMigrations(dir: string, files: readonly MigrationFile[]): string[] {
  if (!existsSync(dir) || files.length === 0) return [];
  try {
    const out = execFileSync(
      'git',
      ['status', '--porcelain', '--untracked-files=all', '--no-renames', '--', '.'],
      { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const untracked = new Set(
      out
        .split('\n')
        .filter((l) => l.startsWith('?? '))
        .map((l) => l.slice(3).trim()),
    );
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return files
      .filter((f) => {
        const rel = relative(top, f.upPath);
        return (
          untracked.has(rel) || [...untracked].some((u) => u.endsWith('/') && rel.startsWith(u))
        );
      })
      .map((f) => f.name);
  } catch {
    return [];
  }
}

/**
 * Whether drizzle/<dialect> covers the schema. The bundled CLI remembers `current` answers by the
 * code and every file of drizzle/<dialect> (see cache.ts); other answers are computed each time.
 */
export async function coverage(
  source: SchemaSource,
  root: string,
  dialect: Dialect,
): Promise<Coverage> {
  const dir = dialectDir(root, dialect);
  const files = filesBelow(dir).map(([name, path]) => ({ name, path }));
  return remembered(
    'coverage',
    [source.label, dialect, dir, ...files.flatMap((f) => [f.name, { file: f.path }])],
    () => computeCoverage(source, root, dialect),
    (c) => c.state === 'current',
  );
}

async function computeCoverage(
  source: SchemaSource,
  root: string,
  dialect: Dialect,
): Promise<Coverage> {
  const dir = dialectDir(root, dialect);
  const { files, cur, plan } = await pendingChange(source, root, dialect);
  const base = { dialect, schema: source.label, dir, uncovered: 0, ahead: [], untracked: [] };
  if (plan.empty) return { ...base, state: 'current' };
  // Walk back: the newest older snapshot the schema equals makes everything after it "ahead".
  for (let i = files.length - 2; i >= 0; i--) {
    if ((await planMigration(dialect, readSnapshot(files[i] as MigrationFile), cur)).empty) {
      const ahead = files.slice(i + 1);
      const untracked = untrackedMigrations(dir, ahead);
      return { ...base, state: 'ahead', ahead: ahead.map((f) => f.name), untracked };
    }
  }
  return {
    ...base,
    state: 'behind',
    uncovered: plan.up.statements.length,
    sample: firstLine(plan.up.statements[0] ?? '').slice(0, 100),
  };
}

/** What to do about it, in one or two sentences; `applied` = the ahead ones the database has. */
export function coverageAdvice(c: Coverage, applied: readonly string[] = []): string {
  if (c.state === 'current') return `${c.dir} is up to date with the schema`;
  if (c.state === 'behind') {
    return (
      `${c.dir} is behind the schema (${c.schema}): ${c.uncovered} statement(s) are in no migration, ` +
      `starting with: ${c.sample}\nRun \`pnpm db:generate\` and commit drizzle/.`
    );
  }
  const names = c.ahead.join(', ');
  const untracked =
    c.untracked.length > 0
      ? ` (${c.untracked.length === c.ahead.length ? 'untracked by git' : `untracked: ${c.untracked.join(', ')}`}: generated and never committed)`
      : '';
  const rollback =
    applied.length > 0
      ? `The database has ${applied.join(', ')} applied: run \`pnpm db:rollback --steps ${applied.length}\` while the files are still there, then delete them. `
      : '';
  return (
    `${c.dir} is ahead of the schema (${c.schema}): ${names}${untracked} describe(s) a change the schema no ` +
    `longer has (a migration generated, then the change undone, e.g. by \`git checkout .\`).\n` +
    `${rollback}Delete ${c.ahead.length === 1 ? 'its files' : 'their files'} (up, .down.sql and meta/NNNN_snapshot.json) if the change was abandoned, ` +
    'or restore the schema change. Do not run `pnpm db:generate`: it would write the reverse.'
  );
}
