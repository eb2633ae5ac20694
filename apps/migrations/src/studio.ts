/**
 * `db:studio`: drizzle-kit studio on the configured database, with the checks and warnings
 * drizzle-kit leaves out. It refuses a database that was never pushed (drizzle-kit would print a
 * stack trace and exit 0), binds the server to 127.0.0.1 (drizzle-kit's default is 0.0.0.0,
 * every interface), and says what studio is before starting it: the UI is drizzle's hosted page
 * (nothing works offline), and the local server runs whatever SQL it is sent, from a page of
 * any origin, as the role in the URL: the migration owner, often a superuser.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from '@exora/core';
import { sql } from 'drizzle-orm';
import { MigrationError } from './errors.ts';
import { readHistory } from './migrator.ts';

const STUDIO_HOST = '127.0.0.1';
export const STUDIO_PORT = 4983;
const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Refuses a database without applied migrations: studio would have no tables to show. */
export async function assertPushed(db: Database): Promise<void> {
  if ((await readHistory(db)).length === 0) {
    throw new MigrationError(
      `${db.safeUrl} has no migrations applied: run \`pnpm db:push\` first, then \`pnpm db:studio\`.`,
    );
  }
}

/** The warning printed before studio starts. */
export async function studioWarning(db: Database, port: number): Promise<string> {
  let who = 'the SQLite file, with full write access';
  if (db.dialect === 'postgres') {
    const [me] = await db.execute<{ name: string; super: boolean }>(
      sql`select current_user as name, rolsuper as super from pg_roles where rolname = current_user`,
    );
    who = `role ${me?.name}${me?.super ? ', a superuser: row-level security does not apply' : ''}`;
  }
  return [
    `warning: Drizzle Studio's UI is drizzle's hosted page (https://local.drizzle.studio), not part of this repository: it needs the internet, and offline there is no UI.`,
    `warning: the studio server on ${STUDIO_HOST}:${port} runs any SQL it is sent, from a page of any origin, as ${who}. Use it on a development database only, and stop it when done.`,
    'Offline, or for production: psql / sqlite3 on the same URL, and `pnpm db:verify` to compare the database with the schema.',
  ].join('\n');
}

/**
 * Runs drizzle-kit studio in a child process until it exits or this process is stopped;
 * resolves with its exit code.
 */
export function runStudio(
  url: string,
  port: number,
  schemaFiles: readonly string[],
): Promise<number> {
  const child = spawn(
    join(APP_DIR, 'node_modules', '.bin', 'drizzle-kit'),
    ['studio', '--config', 'drizzle.config.ts', '--port', String(port), '--host', STUDIO_HOST],
    {
      cwd: APP_DIR,
      env: {
        ...process.env,
        DATABASE_URL: url,
        ...(schemaFiles.length > 0 ? { EXORA_SCHEMA: schemaFiles.join(',') } : {}),
      },
      stdio: 'inherit',
    },
  );
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(code ?? (signal ? 0 : 1));
    });
  });
}
