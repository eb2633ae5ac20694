/**
 * `createDb().ready()` against databases built the way deployments build them: the committed
 * migrations (`drizzle/`), applied by the migration owner, used by the application role on
 * Postgres. All of them: ready. Short of tables: behind, and the message says what to run.
 */
import { rmSync } from 'node:fs';
import type { Dialect } from '@exora/core';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, type ExoraDb, SchemaMismatchError } from '@exora/db';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, readMigrations } from '../../src/files.ts';
import { migrate } from '../../src/migrator.ts';
import { push } from '../../src/push.ts';
import { ensureAppRole } from '../../src/roles.ts';
import { loadSource } from '../../src/source.ts';
import { copyDir, type FreshDatabase, freshDatabase, pgAdmin, uniqueName } from '../helpers.ts';

export function readySuite(dialect: Dialect) {
  describe(`createDb().ready() on migrated databases (${dialect})`, () => {
    const databases: FreshDatabase[] = [];
    const roles: string[] = [];
    const dirs: string[] = [];
    afterAll(async () => {
      for (const db of databases) await db.dispose();
      if (roles.length > 0) {
        const admin = pgAdmin();
        for (const role of roles) await admin.unsafe(`drop role if exists ${role}`);
        await admin.end();
      }
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    /** The service's handle: on Postgres as a fresh application role made by `db:roles`. */
    async function service(db: FreshDatabase): Promise<ExoraDb> {
      let url = db.url;
      if (dialect === 'postgres') {
        const role = uniqueName('exora_app');
        roles.push(role);
        await ensureAppRole(db.db, { appRole: role });
        const u = new URL(db.url);
        u.username = role;
        url = u.toString();
      }
      return createDb({ url, crypto: createTestCrypto(), env: {} });
    }

    it('passes once every committed migration is applied', async () => {
      const db = await freshDatabase(dialect);
      databases.push(db);
      await push(db.db, defaultMigrationsDir(), await loadSource());
      const app = await service(db);
      try {
        await expect(app.ready()).resolves.toBeUndefined();
      } finally {
        await app.close();
      }
    });

    it(`says \`${dialect === 'postgres' ? 'pnpm db:migrate' : 'pnpm db:push'}\` when the newest migration that creates tables is missing`, async () => {
      // ready() compares tables and columns (what the application role can see), so the
      // database is a migration behind that creates tables: that one and any after it are gone.
      const dir = copyDir(defaultMigrationsDir());
      dirs.push(dir);
      const files = readMigrations(dir, dialect);
      // (A SQLite rebuild's `__new_<table>` creates no table of its own.)
      const cut = files.findLastIndex((f) => /^CREATE TABLE [`"](?!__new_)/im.test(f.up));
      expect(cut).toBeGreaterThan(0);
      for (const f of files.slice(cut)) {
        for (const path of [f.upPath, f.downPath, f.snapshotPath]) rmSync(path);
      }

      const db = await freshDatabase(dialect);
      databases.push(db);
      const { applied } = await migrate(db.db, dir);
      expect(applied.length).toBe(cut);
      const app = await service(db);
      try {
        const error = await app.ready().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SchemaMismatchError);
        const message = (error as Error).message;
        expect(message).toMatch(/^The database \S+ is behind the schema \(missing table \w+/);
        expect(message).toContain(
          `run \`${dialect === 'postgres' ? 'pnpm db:migrate' : 'pnpm db:push'}\` with the same DATABASE_URL.`,
        );
        expect(message).not.toContain('\n');
      } finally {
        await app.close();
      }
    });
  });
}
