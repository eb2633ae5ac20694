/**
 * One meaning for a relative SQLite path: `pnpm db:*` and `createDb()` both take it from the
 * workspace root, so a database pushed from one folder is the one a service started in another
 * folder opens. (Dialect-free: relative paths exist only for SQLite.)
 */
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqliteFilename } from '@exora/core';
import { createTestEnv } from '@exora/crypto/testing';
import { createDb } from '@exora/db';
import { afterEach, describe, expect, it } from 'vitest';
import { databaseUrl, defaultMigrationsDir } from '../src/files.ts';
import { cli, tempDir } from './helpers.ts';

describe('relative SQLite paths', () => {
  const home = process.cwd();
  const drizzle = defaultMigrationsDir();
  afterEach(() => process.chdir(home));

  it('are one file for the CLI in one folder and a service started in another', async () => {
    const root = realpathSync(tempDir('exora-paths-'));
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - apps/*\n');
    for (const dir of ['apps/migrations', 'apps/svc/src']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    try {
      process.chdir(join(root, 'apps', 'migrations'));
      expect(databaseUrl('data/exora.db')).toBe(join(root, 'data', 'exora.db'));
      const pushed = await cli(['push', '--url', 'data/exora.db', '--dir', drizzle]);
      expect(pushed.code).toBe(0);
      expect(pushed.out).toContain(`push sqlite ${join(root, 'data', 'exora.db')}`);

      process.chdir(join(root, 'apps', 'svc', 'src'));
      expect(databaseUrl('file:data/exora.db')).toBe(sqliteFilename('data/exora.db'));
      const db = createDb({ env: { ...createTestEnv(), DATABASE_URL: 'data/exora.db' } });
      try {
        expect(db.database.safeUrl).toBe(join(root, 'data', 'exora.db'));
        // A new empty file would have none of the tables: ready() proves it is the pushed one.
        await expect(db.ready()).resolves.toBeUndefined();
      } finally {
        await db.close();
      }
      expect(existsSync(join(root, 'apps', 'svc', 'src', 'data'))).toBe(false);
    } finally {
      process.chdir(home);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
