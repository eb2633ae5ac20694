/** Test helpers: fixture sources and migrations, fresh databases, running the CLI. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, Dialect } from '@exora/core';
import { createEmptyDatabase, type TestDatabase } from '@exora/core/testing';
import postgres from 'postgres';
import { inject } from 'vitest';
import { generate } from '../src/generate.ts';
import { type SchemaSource, sourceFromModules } from '../src/source.ts';
import * as v1 from './fixtures/v1.ts';
import * as v2 from './fixtures/v2.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

export const sourceV1: SchemaSource = sourceFromModules('fixture v1', [v1]);
export const sourceV2: SchemaSource = sourceFromModules('fixture v2', [v2]);

export function tempDir(prefix = 'exora-mig-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A migrations root with the fixture history: 0001 (v1, the core sample) and 0002 (v2). */
export async function fixtureMigrations(): Promise<string> {
  const dir = tempDir();
  await generate({ source: sourceV1, dir });
  await generate({ source: sourceV2, dir });
  return dir;
}

export function copyDir(dir: string): string {
  const copy = tempDir();
  cpSync(dir, copy, { recursive: true });
  return copy;
}

/** Writes a hand-written migration (both files) into a dialect folder. */
export function writeCustomMigration(
  root: string,
  dialect: Dialect,
  name: string,
  up: string[],
  down: string[] = [],
): void {
  const body = (s: string[]) => `-- exora:custom\n${s.join('\n--> statement-breakpoint\n')}\n`;
  writeFileSync(join(root, dialect, `${name}.sql`), body(up));
  writeFileSync(join(root, dialect, `${name}.down.sql`), body(down));
}

export interface FreshDatabase extends TestDatabase {
  dialect: Dialect;
}

/** An empty database of its own: a new Postgres database, or a SQLite file (shareable). */
export async function freshDatabase(dialect: Dialect): Promise<FreshDatabase> {
  if (dialect === 'sqlite') {
    const dir = tempDir('exora-db-');
    const test = await createEmptyDatabase('sqlite', { sqliteUrl: join(dir, 'test.db') });
    return {
      ...test,
      dialect,
      async dispose() {
        await test.dispose();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  return { ...(await createEmptyDatabase('postgres')), dialect };
}

function pgAdminUrl(): string {
  return inject('pgAdminUrl');
}

/** postgres.js on the admin URL (or another database of the server). */
export function pgAdmin(database?: string) {
  const u = new URL(pgAdminUrl());
  if (database) u.pathname = `/${database}`;
  return postgres(u.toString(), { max: 1, onnotice: () => {} });
}

export function pgUrl(database: string, user?: string, password?: string): string {
  const u = new URL(pgAdminUrl());
  u.pathname = `/${database}`;
  if (user) {
    u.username = user;
    u.password = password ?? '';
  }
  return u.toString();
}

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

/** Runs the CLI in this process, capturing what it prints. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { runCli } = await import('../src/index.ts');
  const lines: string[] = [];
  const warnings: string[] = [];
  const code = await runCli(
    args,
    (l) => lines.push(l),
    (l) => warnings.push(l),
  );
  return { code, out: lines.join('\n'), err: warnings.join('\n') };
}

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a child process printed and how it ended; `onLine` sees stdout as it comes. */
export function childResult(
  child: ChildProcess,
  onLine?: (line: string) => void,
): Promise<ChildResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    if (onLine) for (const l of text.split('\n')) if (l) onLine(l);
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The environment without DATABASE_URL and PG* (a command must use what it is given). */
export function envWithoutDatabase(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => k !== 'DATABASE_URL' && !k.startsWith('PG')),
    ),
    ...extra,
  };
}

/** Starts the CLI in a child process (tsx); `onLine` sees its stdout as it comes. */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onLine?: (line: string) => void,
): { done: Promise<ChildResult>; pid: number | undefined } {
  const child = spawn(
    join(APP_DIR, 'node_modules', '.bin', 'tsx'),
    [join(APP_DIR, 'src', 'cli.ts'), ...args],
    { cwd: APP_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const done = childResult(child, onLine);
  return { done, pid: child.pid };
}

export async function tableNames(db: Database): Promise<string[]> {
  const { introspect } = await import('@exora/core');
  return Object.keys((await introspect(db)).tables).sort();
}

/** The driver's message of the error `promise` rejects with (Drizzle wraps it). */
export async function failure(promise: Promise<unknown>): Promise<string> {
  const { reason } = await import('../src/errors.ts');
  try {
    await promise;
  } catch (error) {
    return reason(error);
  }
  throw new Error('expected a failure, but it succeeded');
}

/** Runs the CLI's `main` (exit code, errors to stderr) in this process, capturing both streams. */
export async function runMain(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../src/cli.ts');
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (m: string) => out.push(m);
  console.error = (m: string) => err.push(m);
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
