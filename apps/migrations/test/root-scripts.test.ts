/**
 * What a new user types at the repository root: `pnpm db:<command>` passes flags through to the
 * CLI and prints only the tool's own output (no pnpm banner), so `--json` output parses; with
 * PG* variables instead of a URL every command names the server and database it used; a URL of
 * another scheme gets one message, the one `connect()` gives, from every command.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, type Dialect } from '@exora/core';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../src/files.ts';
import type { VerifyReport } from '../src/verify.ts';
import {
  APP_DIR,
  type ChildResult,
  childResult,
  envWithoutDatabase,
  type FreshDatabase,
  freshDatabase,
  runMain,
} from './helpers.ts';

const ROOT = repoRoot(APP_DIR);

/** `pnpm <args>` at the repository root, without DATABASE_URL or PG* from the outside. */
function pnpmAtRoot(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildResult> {
  return childResult(
    spawn('pnpm', args, {
      cwd: ROOT,
      env: envWithoutDatabase(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

describe('root db:* scripts', () => {
  const databases: FreshDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.dispose()));
  });

  for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
    it(`pass flags through and print only the tool's output (${dialect})`, async () => {
      const test = await freshDatabase(dialect);
      databases.push(test);
      const pushed = await pnpmAtRoot(['db:push', '--url', test.url]);
      expect(pushed.stderr).toBe('');
      expect(pushed.code).toBe(0);
      const lines = pushed.stdout.trim().split('\n');
      expect(lines[0]).toBe(`push ${dialect} ${test.db.safeUrl}`);
      expect(lines.at(-1)).toMatch(/^applied \d+ migrations?; /);

      const verified = await pnpmAtRoot(['db:verify', '--json', '--url', test.url]);
      expect(verified.code).toBe(0);
      const report = JSON.parse(verified.stdout) as VerifyReport;
      expect(report).toMatchObject({ ok: true, dialect, differences: [] });
      expect(report.migrations).toMatchObject({ pending: [], problems: [], stale: false });

      // `pnpm run db:status` is the same script.
      const status = await pnpmAtRoot(['run', 'db:status', '--json', '--url', test.url]);
      expect(status.code).toBe(0);
      const entries = JSON.parse(status.stdout).migrations as { state: string }[];
      expect(entries.length).toBeGreaterThan(0);
      expect(entries.every((e) => e.state === 'applied')).toBe(true);

      // A failure: the tool's one-line error on stderr, its exit code, nothing from pnpm.
      const missing = await pnpmAtRoot(['db:status', '--url', join(ROOT, 'no-such-dir', 'x.db')]);
      expect(missing.code).toBe(2);
      expect(missing.stdout).toBe('');
      expect(missing.stderr.trim()).toBe(
        `error: No SQLite database at ${join(ROOT, 'no-such-dir', 'x.db')}: run \`pnpm db:push\` first.`,
      );
    });
  }

  it('with PG* variables instead of a URL, names the server and database it used', async () => {
    const test = await freshDatabase('postgres');
    databases.push(test);
    const u = new URL(test.url);
    const status = await pnpmAtRoot(['db:status'], {
      PGHOST: u.hostname,
      PGPORT: u.port || '5432',
      PGUSER: decodeURIComponent(u.username),
      PGDATABASE: u.pathname.slice(1),
      ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}),
    });
    expect(status.stderr).toBe('');
    expect(status.stdout.split('\n')[0]).toBe(
      `status postgres postgres://${decodeURIComponent(u.username)}@${u.hostname}:${u.port || 5432}${u.pathname} (${join(ROOT, 'drizzle', 'postgres')})`,
    );
  });

  it('an unsupported URL scheme gets the same one-line message from every command', async () => {
    const url = 'mysql://root:hunter22@localhost/app';
    let expected = '';
    try {
      connect(url);
    } catch (error) {
      expected = (error as Error).message;
    }
    expect(expected).toMatch(/^Unsupported database URL scheme/);
    for (const command of ['push', 'migrate', 'status', 'rollback', 'verify', 'seed', 'roles']) {
      const result = await runMain([command, '--url', url]);
      expect({ command, code: result.code, err: result.err }).toEqual({
        command,
        code: 2,
        err: `error: ${expected}`,
      });
      expect(result.out).toBe('');
    }
  });
});
