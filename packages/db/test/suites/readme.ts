/**
 * The README's code, run as a reader would run it: every ```ts runnable block of README.md is
 * written into a service package of a scratch workspace (`apps/hello`, with `@exora/db` linked
 * into its node_modules), type-checked with `tsc`, and run with `tsx --env-file=.env`, twice,
 * against a fresh database: on SQLite the default `data/exora.db` at the scratch workspace's
 * root (no DATABASE_URL, the service started in its own folder), on Postgres a fresh database
 * as an application role under row-level security. The README cannot drift from the API.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Dialect } from '@exora/core';
import { connect } from '@exora/core';
import { createTestDatabase, type TestDatabase } from '@exora/core/testing';
import { createTestEnv } from '@exora/crypto/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/index.ts';

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const REPO = join(PACKAGE, '..', '..');
const BIN = join(PACKAGE, 'node_modules', '.bin');

/** The README's TypeScript blocks: `runnable` ones are run; the rest are fragments. */
function readmeBlocks(markdown: string): { info: string; code: string }[] {
  const blocks: { info: string; code: string }[] = [];
  const fence = /^```(ts[^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    blocks.push({ info: m[1]!.trim(), code: m[2]! });
  }
  return blocks;
}

const runnableBlocks = () =>
  readmeBlocks(readFileSync(join(REPO, 'README.md'), 'utf8'))
    .filter((b) => b.info.split(/\s+/).includes('runnable'))
    .map((b) => b.code);

interface Workspace {
  root: string;
  /** The service folder: `apps/hello` with a package.json, node_modules and the blocks. */
  service: string;
  files: string[];
}

/** A scratch pnpm workspace with a service package holding the given sources. */
function scratchWorkspace(sources: readonly string[]): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'exora-readme-'));
  writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - apps/*\n');
  const service = join(root, 'apps', 'hello');
  mkdirSync(join(service, 'node_modules', '@exora'), { recursive: true });
  mkdirSync(join(service, 'node_modules', '@types'), { recursive: true });
  symlinkSync(PACKAGE, join(service, 'node_modules', '@exora', 'db'), 'dir');
  symlinkSync(
    join(PACKAGE, 'node_modules', '@types', 'node'),
    join(service, 'node_modules', '@types', 'node'),
    'dir',
  );
  writeFileSync(
    join(service, 'package.json'),
    JSON.stringify({ name: 'hello', private: true, type: 'module' }),
  );
  const files = sources.map((code, i) => {
    const file = `block-${i + 1}.ts`;
    writeFileSync(join(service, file), code);
    return file;
  });
  writeFileSync(
    join(service, 'tsconfig.json'),
    JSON.stringify({ extends: join(REPO, 'tsconfig.base.json'), files }),
  );
  return { root, service, files };
}

/** `tsc --noEmit` over the service's files: its exit code and diagnostics. */
async function typecheck(ws: Workspace): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(join(BIN, 'tsc'), ['-p', join(ws.service, 'tsconfig.json')], {
      cwd: ws.service,
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

/** The environment a service gets: this process's, without any database or key settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (/^(DATABASE_|PG|EXORA_|OAUTH_)/.test(k)) delete env[k];
  }
  return env;
}

export function readmeTypecheckSuite() {
  describe('README code blocks type-check', () => {
    it('has runnable blocks, and tsc accepts them as a service would compile them', async () => {
      const blocks = runnableBlocks();
      expect(blocks.length).toBeGreaterThan(0);
      for (const code of blocks) expect(code).toContain("from '@exora/db'");
      const ws = scratchWorkspace(blocks);
      try {
        expect(await typecheck(ws)).toEqual({ code: 0, out: '' });
      } finally {
        rmSync(ws.root, { recursive: true, force: true });
      }
    }, 180_000);

    it('catches a block that uses a name it never defines (how the example once broke)', async () => {
      const [first] = runnableBlocks();
      const broken = first!.replace(
        'await db.close();',
        'await db.forUser(accessToken);\nawait db.close();',
      );
      expect(broken).not.toBe(first);
      const ws = scratchWorkspace([broken]);
      try {
        const result = await typecheck(ws);
        expect(result.code).not.toBe(0);
        expect(result.out).toMatch(
          /block-1\.ts\(\d+,\d+\): error TS2304: Cannot find name 'accessToken'/,
        );
      } finally {
        rmSync(ws.root, { recursive: true, force: true });
      }
    }, 180_000);
  });
}

export function readmeSuite(dialect: Dialect) {
  describe(`README code blocks run (${dialect})`, () => {
    let ws: Workspace;
    let test: TestDatabase;
    const role = `exora_readme_${randomBytes(4).toString('hex')}`;
    const env = createTestEnv();

    beforeAll(async () => {
      ws = scratchWorkspace(runnableBlocks());
      if (dialect === 'sqlite') {
        // The default location, as `pnpm db:push` leaves it: data/exora.db at the workspace root.
        mkdirSync(join(ws.root, 'data'));
        test = await createTestDatabase('sqlite', [schema], {
          sqliteUrl: join(ws.root, 'data', 'exora.db'),
        });
        writeFileSync(join(ws.root, '.env'), envFile(env));
        return;
      }
      test = await createTestDatabase('postgres', [schema]);
      for (const statement of [
        `create role ${role} login nosuperuser nobypassrls`,
        `grant usage on schema public to ${role}`,
        `grant select, insert, update, delete on all tables in schema public to ${role}`,
        `grant usage, select on all sequences in schema public to ${role}`,
      ]) {
        await test.db.execute(sql.raw(statement));
      }
      const url = new URL(test.url);
      url.username = role;
      writeFileSync(join(ws.root, '.env'), envFile({ ...env, DATABASE_URL: url.toString() }));
    });
    afterAll(async () => {
      if (dialect === 'postgres' && test) {
        await test.db.execute(sql.raw(`drop owned by ${role}`));
        await test.db.execute(sql.raw(`drop role if exists ${role}`));
      }
      await test?.dispose();
      if (ws) rmSync(ws.root, { recursive: true, force: true });
    });

    it('runs every runnable block with tsx, twice, from the service folder', async () => {
      const users = async () => {
        const [row] = await test.db.execute<{ n: number }>(sql`select count(*) as n from users`);
        return Number(row?.n);
      };
      for (const [round, expectedUsers] of [
        [1, 2],
        [2, 4],
      ] as const) {
        for (const file of ws.files) {
          const { stdout, stderr } = await run(join(BIN, 'tsx'), ['--env-file=../../.env', file], {
            cwd: ws.service,
            env: cleanEnv(),
          });
          expect({ round, stderr }).toEqual({ round, stderr: '' });
          // Without an actor, raw Drizzle sees every row on SQLite and none under row-level
          // security (Postgres, as the application role).
          const visible = dialect === 'sqlite' ? expectedUsers : 0;
          expect(stdout).toMatch(
            new RegExp(
              `^ada\\.[0-9a-f]{8}@example\\.com signed in; 2 members of Acme; google grant until ` +
                `\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z; key \\S+; ${visible} users visible without an actor\\n$`,
            ),
          );
        }
        expect(await users()).toBe(expectedUsers);
      }
    }, 180_000);
  });
}

function envFile(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}
