/**
 * `pnpm db:studio` (the CLI's `studio`: drizzle-kit studio with drizzle.config.ts): it refuses a
 * database that was never pushed, warns what studio is before starting, starts on the
 * configured database of either dialect with that dialect's tables, on 127.0.0.1 only, and
 * answers HTTP. Stopped afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '@exora/core';
import { freePort } from '@exora/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { push } from '../src/push.ts';
import {
  APP_DIR,
  FIXTURES,
  type FreshDatabase,
  fixtureMigrations,
  freshDatabase,
  runMain,
  sourceV2,
} from './helpers.ts';

async function studio(
  url: string,
  port: number,
): Promise<{ child: ChildProcess; log: () => string; stderr: () => string }> {
  const child = spawn(
    join(APP_DIR, 'node_modules', '.bin', 'tsx'),
    ['src/cli.ts', 'studio', '--url', url, '--port', String(port), '--schema', `${FIXTURES}v2.ts`],
    { cwd: APP_DIR, env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let errors = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
    errors += d.toString();
  });
  const end = Date.now() + 45_000;
  while (!output.includes('Drizzle Studio is up and running')) {
    if (child.exitCode !== null || Date.now() > end) {
      throw new Error(`drizzle-kit studio did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, log: () => output, stderr: () => errors };
}

async function ask(port: number, body: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('db:studio', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const databases: FreshDatabase[] = [];

  beforeAll(async () => {
    dir = await fixtureMigrations();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(databases.map((d) => d.dispose()));
  });

  for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
    it(`starts on a ${dialect} database and answers HTTP`, async () => {
      const test = await freshDatabase(dialect);
      databases.push(test);
      await push(test.db, dir, sourceV2);
      const port = await freePort();
      const { child, log, stderr } = await studio(test.url, port);
      children.push(child);
      try {
        expect(stderr()).toContain(
          "warning: Drizzle Studio's UI is drizzle's hosted page (https://local.drizzle.studio)",
        );
        expect(stderr()).toContain('offline there is no UI');
        expect(stderr()).toContain(
          `the studio server on 127.0.0.1:${port} runs any SQL it is sent`,
        );
        expect(stderr()).toContain('psql / sqlite3');
        expect(stderr()).toContain('`pnpm db:verify`');
        if (dialect === 'postgres') expect(stderr()).toMatch(/as role \S+/);
        // Bound to the loopback interface only: another address of this machine is refused.
        const external = Object.values(networkInterfaces())
          .flat()
          .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
        if (external) {
          await expect(fetch(`http://${external}:${port}/`, { method: 'POST' })).rejects.toThrow();
        }
        const init = await ask(port, { type: 'init' });
        expect(init.dialect).toBe(dialect === 'postgres' ? 'postgresql' : 'sqlite');
        expect(init.schemaFiles[0].name).toBe('studio-schema.ts');
        const rows = await ask(port, {
          type: 'proxy',
          data: {
            sql: 'select id from fixture_kinds order by id',
            method: 'all',
            mode: 'object',
          },
        });
        expect(rows).toEqual([{ id: 'idea' }, { id: 'memo' }, { id: 'task' }]);
        expect(log()).not.toMatch(/password/i);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    });

    it(`refuses a ${dialect} database that was never pushed, in one line, exit 1`, async () => {
      const test = await freshDatabase(dialect);
      databases.push(test);
      const result = await runMain([
        'studio',
        '--url',
        test.url,
        '--port',
        String(await freePort()),
      ]);
      expect(result).toEqual({
        code: 1,
        out: '',
        err: `error: ${test.db.safeUrl} has no migrations applied: run \`pnpm db:push\` first, then \`pnpm db:studio\`.`,
      });
    });
  }
});
