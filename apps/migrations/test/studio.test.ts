/**
 * `pnpm db:studio` (drizzle-kit studio with drizzle.config.ts): it starts on the configured
 * database of either dialect, with that dialect's tables, and answers HTTP. Stopped afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
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
  sourceV2,
} from './helpers.ts';

async function studio(
  url: string,
  port: number,
): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(
    join(APP_DIR, 'node_modules', '.bin', 'drizzle-kit'),
    ['studio', '--config', 'drizzle.config.ts', '--port', String(port), '--host', '127.0.0.1'],
    {
      cwd: APP_DIR,
      env: { ...process.env, DATABASE_URL: url, EXORA_SCHEMA: `${FIXTURES}v2.ts` },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const end = Date.now() + 45_000;
  while (!output.includes('Drizzle Studio is up and running')) {
    if (child.exitCode !== null || Date.now() > end) {
      throw new Error(`drizzle-kit studio did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, log: () => output };
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
      const { child, log } = await studio(test.url, port);
      children.push(child);
      try {
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
  }
});
