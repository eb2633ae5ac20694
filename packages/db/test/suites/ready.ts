import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '@exora/core';
import {
  createEmptyDatabase,
  createTestDatabase,
  freePort,
  type TestDatabase,
} from '@exora/core/testing';
import { createTestCrypto } from '@exora/crypto/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  ConnectionError,
  createDb,
  SchemaMismatchError,
  schema,
} from '../../src/index.ts';

const SECRET = 'hunter2-not-in-any-message';

/** What `ready()` rejects with; asserts it is one line and carries no password or cause. */
async function readyFailure(url: string): Promise<Error> {
  const db = createDb({ url, crypto: createTestCrypto(), env: {} });
  try {
    await db.ready();
  } catch (error) {
    const e = error as Error;
    expect(e.message).not.toContain('\n');
    expect(e.message).not.toContain(SECRET);
    expect(String(e.stack)).not.toContain(SECRET);
    expect(e.cause).toBeUndefined();
    return e;
  } finally {
    await db.close();
  }
  throw new Error('expected ready() to fail');
}

function withPassword(url: string, changes: { database?: string; user?: string; port?: number }) {
  const u = new URL(url);
  if (changes.database) u.pathname = `/${changes.database}`;
  if (changes.user) u.username = changes.user;
  if (changes.port) u.port = String(changes.port);
  u.password = SECRET;
  return u.toString();
}

/** `createDb().ready()`: the database answers and has the schema, or a one-line reason. */
export function readySuite(dialect: Dialect) {
  const push = dialect === 'postgres' ? 'pnpm db:migrate' : 'pnpm db:push';

  describe(`createDb().ready() (${dialect})`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'exora-ready-'));
    const opened: TestDatabase[] = [];
    /** Roles created by the tests (cluster-wide): dropped at the end. */
    const roles: string[] = [];
    const fresh = async (tables: boolean) => {
      const sqliteUrl = join(dir, `${opened.length}.db`);
      const test = tables
        ? await createTestDatabase(dialect, [schema], { sqliteUrl })
        : await createEmptyDatabase(dialect, { sqliteUrl });
      opened.push(test);
      return test;
    };
    afterAll(async () => {
      for (const t of opened) {
        for (const r of roles) await t.db.execute(sql.raw(`drop owned by ${r}`));
      }
      for (const r of roles) await opened[0]!.db.execute(sql.raw(`drop role ${r}`));
      for (const t of opened) await t.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('passes on a database with the schema', async () => {
      const test = await fresh(true);
      const db = createDb({ url: test.url, crypto: createTestCrypto(), env: {} });
      await expect(db.ready()).resolves.toBeUndefined();
      await db.close();
    });

    it('says `pnpm db:push` for a database that was never pushed', async () => {
      const test = await fresh(false);
      const e = await readyFailure(test.url);
      expect(e).toBeInstanceOf(SchemaMismatchError);
      expect(e.message).toMatch(/has none of the schema's tables: it was never pushed\./);
      expect(e.message).toContain('Run `pnpm db:push` with the same DATABASE_URL.');
    });

    it(`says \`${push}\` for a database behind the schema, naming what is missing`, async () => {
      const test = await fresh(true);
      await test.db.execute(sql`alter table user_profiles drop column bio`);
      let e = await readyFailure(test.url);
      expect(e).toBeInstanceOf(SchemaMismatchError);
      expect(e.message).toContain('is behind the schema (missing user_profiles.bio)');
      expect(e.message).toContain(`run \`${push}\``);

      await test.db.execute(sql`drop table setup_progress`);
      e = await readyFailure(test.url);
      expect(e.message).toContain('(missing table setup_progress, user_profiles.bio)');
    });

    if (dialect === 'sqlite') {
      it('refuses a SQLite path whose directory does not exist, and does not create it', () => {
        const missing = join(dir, 'not-there', 'deeper');
        expect(() =>
          createDb({ url: join(missing, 'exora.db'), crypto: createTestCrypto(), env: {} }),
        ).toThrow(
          new ConfigurationError(
            `Cannot open the SQLite database ${join(missing, 'exora.db')}: its directory ${missing} does not exist (relative paths start at the workspace root). Fix DATABASE_URL, or create the database with \`pnpm db:push\`, which creates the directory.`,
          ),
        );
        expect(existsSync(join(dir, 'not-there'))).toBe(false);
      });
    }

    if (dialect === 'postgres') {
      let admin: TestDatabase['db'];
      let adminUrl: string;
      beforeAll(async () => {
        const test = await fresh(false);
        adminUrl = test.url;
        admin = test.db;
      });

      it('says `pnpm db:migrate` when the engine function is missing', async () => {
        const test = await fresh(true);
        await test.db.execute(sql.raw('drop function exora_set_actor'));
        const e = await readyFailure(test.url);
        expect(e.message).toContain('(missing function exora_set_actor)');
        expect(e.message).toContain('run `pnpm db:migrate`');
      });

      it('names host and port of an unreachable server, without the driver error', async () => {
        const port = await freePort();
        const e = await readyFailure(withPassword(adminUrl, { port }));
        expect(e).toBeInstanceOf(ConnectionError);
        expect(e.message).toMatch(
          new RegExp(
            `^Cannot reach Postgres at 127\\.0\\.0\\.1:${port}, database "exora_t_\\w+", role "\\w+" \\(ECONNREFUSED\\): is the server running`,
          ),
        );
      });

      it('names an unknown database and an unknown role as configuration errors', async () => {
        let e = await readyFailure(withPassword(adminUrl, { database: 'exora_no_such_db' }));
        expect(e).toBeInstanceOf(ConfigurationError);
        expect(e.message).toMatch(
          /^Postgres at 127\.0\.0\.1:\d+, database "exora_no_such_db", role "\w+": the database does not exist \(SQLSTATE 3D000\)\. Create it, or fix/,
        );
        e = await readyFailure(withPassword(adminUrl, { user: 'exora_no_such_role' }));
        expect(e).toBeInstanceOf(ConfigurationError);
        expect(e.message).toMatch(
          /role "exora_no_such_role": the role does not exist or may not log in \(SQLSTATE 28000\)\. Fix the user or password/,
        );
      });

      it('passes as an application role with its grants, and says `pnpm db:roles` without them', async () => {
        const test = await fresh(true);
        const role = `exora_ready_${Date.now().toString(36)}`;
        roles.push(role);
        await admin.execute(sql.raw(`create role ${role} login nosuperuser nobypassrls`));
        await test.db.execute(sql.raw(`grant usage on schema public to ${role}`));
        const asRole = new URL(test.url);
        asRole.username = role;
        const e = await readyFailure(asRole.toString());
        expect(e).toBeInstanceOf(ConfigurationError);
        expect(e.message).toMatch(
          /may not read \w+, \w+, \w+ and \d+ more: grant the application role its privileges with `pnpm db:roles`/,
        );

        await test.db.execute(
          sql.raw(`grant select, insert, update, delete on all tables in schema public to ${role}`),
        );
        const db = createDb({ url: asRole.toString(), crypto: createTestCrypto(), env: {} });
        await expect(db.ready()).resolves.toBeUndefined();
        await db.close();
      });
    }
  });
}
