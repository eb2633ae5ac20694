import { connect, type Database } from '@exora/core';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { push } from '../../src/push.ts';
import { ensureAppRole } from '../../src/roles.ts';
import { cli, failure, pgAdmin, pgUrl, runMain, sourceV2, uniqueName } from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

const PASSWORD = 'test-only-password';

/** Postgres: a migration owner and an application role, as a deployment would have them. */
function rlsPostgres(ctx: MigrationsContext) {
  describe('row-level security as the application role (postgres)', () => {
    const database = uniqueName('exora_t_rls');
    const owner = uniqueName('exora_owner');
    const app = uniqueName('exora_app');
    const admin = pgAdmin();
    let asOwner: Database;
    let asAdmin: Database;
    let asApp: Database;
    const ids = {
      alice: crypto.randomUUID(),
      bob: crypto.randomUUID(),
      orgX: crypto.randomUUID(),
      orgY: crypto.randomUUID(),
    };

    beforeAll(async () => {
      await admin.unsafe(
        `create role ${owner} login nosuperuser nocreaterole password '${PASSWORD}'`,
      );
      await admin.unsafe(`create database ${database} owner ${owner}`);
      // The owner runs the migrations: it creates and owns every table.
      asOwner = connect(pgUrl(database, owner, PASSWORD));
      await push(asOwner, ctx.dir(), sourceV2);
      // An administrator (CREATEROLE) creates the application role and its grants.
      asAdmin = connect(pgUrl(database));
      const created = await ensureAppRole(asAdmin, { appRole: app, password: PASSWORD });
      expect(created).toMatchObject({ role: app, created: true, owner, tables: 4 });
      asApp = connect(pgUrl(database, app, PASSWORD));
      await asOwner.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        await tx.execute(sql`insert into sample_owners (id, email) values
          (${ids.alice}, 'alice@example.test'), (${ids.bob}, 'bob@example.test')`);
        await tx.execute(sql`insert into sample_items (owner_id, title) values
          (${ids.alice}, 'a1'), (${ids.alice}, 'a2'), (${ids.bob}, 'b1')`);
        await tx.execute(sql`insert into fixture_notes (organization_id, kind, body) values
          (${ids.orgX}, 'memo', 'x'), (${ids.orgY}, 'memo', 'y')`);
      });
    });

    afterAll(async () => {
      await Promise.all([asOwner?.close(), asAdmin?.close(), asApp?.close()]);
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.unsafe(`drop role if exists ${app}`);
      await admin.unsafe(`drop role if exists ${owner}`);
      await admin.end();
    });

    const count = async (db: Database, query: string) =>
      Number((await db.execute<{ n: number }>(sql.raw(query)))[0]!.n);

    it('the application role is a plain login role: no superuser, no BYPASSRLS, owns nothing', async () => {
      const [role] =
        await admin`select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = ${app}`;
      expect(role).toEqual({ rolsuper: false, rolbypassrls: false, rolcanlogin: true });
      const [auth] =
        await admin`select rolpassword is not null as has_password from pg_authid where rolname = ${app}`;
      expect(auth).toEqual({ has_password: true });
      const owned = await asAdmin.execute<{ n: number }>(
        sql`select count(*)::int as n from pg_tables where schemaname = 'public' and tableowner = ${app}`,
      );
      expect(owned[0]!.n).toBe(0);
      expect(await failure(asApp.execute(sql`select * from __exora_migrations`))).toMatch(
        /permission denied for table __exora_migrations/,
      );
    });

    it('a raw select without the settings returns no user- or organization-owned rows', async () => {
      expect(await count(asApp, 'select count(*) as n from sample_items')).toBe(0);
      expect(await count(asApp, 'select count(*) as n from fixture_notes')).toBe(0);
      expect(await count(asApp, 'select count(*) as n from sample_item_counts')).toBe(0);
      // Reference data is readable by all; a table without a policy is not restricted.
      expect(await count(asApp, 'select count(*) as n from fixture_kinds')).toBe(3);
      expect(await count(asApp, 'select count(*) as n from sample_owners')).toBe(2);
    });

    it('with app.user_id / app.organization_id set in the transaction, only that owner’s rows', async () => {
      const titles = await asApp.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': ids.alice });
        return tx.execute<{ title: string }>(sql`select title from sample_items order by title`);
      });
      expect(titles.map((r) => r.title)).toEqual(['a1', 'a2']);
      const bodies = await asApp.transaction(async (tx) => {
        await tx.setLocal({ 'app.organization_id': ids.orgY });
        return tx.execute<{ body: string }>(sql`select body from fixture_notes`);
      });
      expect(bodies.map((r) => r.body)).toEqual(['y']);
      // The settings were transaction-local.
      expect(await count(asApp, 'select count(*) as n from sample_items')).toBe(0);
    });

    it('cannot write another user’s rows or reference data', async () => {
      expect(
        await failure(
          asApp.transaction(async (tx) => {
            await tx.setLocal({ 'app.user_id': ids.alice });
            await tx.execute(
              sql`insert into sample_items (owner_id, title) values (${ids.bob}, 'sneaky')`,
            );
          }),
        ),
      ).toMatch(/new row violates row-level security policy/);
      const updated = await asApp.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': ids.alice });
        return tx.execute(
          sql`update sample_items set title = 'mine now' where owner_id = ${ids.bob} returning id`,
        );
      });
      expect(updated).toEqual([]);
      expect(
        await failure(asApp.execute(sql`insert into fixture_kinds (id, label) values ('x', 'X')`)),
      ).toMatch(/new row violates row-level security policy for table "fixture_kinds"/);
    });

    it('row-level security is forced: the (non-superuser) owner sees nothing without settings', async () => {
      expect(await count(asOwner, 'select count(*) as n from sample_items')).toBe(0);
      const all = await asOwner.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        return tx.execute<{ n: number }>(sql`select count(*)::int as n from sample_items`);
      });
      expect(all[0]!.n).toBe(3);
    });

    it('db:roles is idempotent and says whether it changed the password', async () => {
      vi.stubEnv('EXORA_APP_PASSWORD', '');
      try {
        const { code, out, err } = await cli(['roles', '--url', pgUrl(database), '--role', app]);
        expect(code).toBe(0);
        expect(out).toBe(
          `role ${app} already exists (password unchanged: EXORA_APP_PASSWORD is not set); DML granted on 4 tables in public (tables owned by ${owner}), none on the migration history`,
        );
        // The owner is not a superuser: no warning.
        expect(err).toBe('');
        const next = 'another-test-password';
        vi.stubEnv('EXORA_APP_PASSWORD', next);
        const changed = await cli(['roles', '--url', pgUrl(database), '--role', app]);
        expect(changed.code).toBe(0);
        expect(changed.out).toContain(
          `role ${app} already exists: its password was changed to EXORA_APP_PASSWORD;`,
        );
        expect(changed.out).not.toContain(next);
        const withNew = connect(pgUrl(database, app, next));
        try {
          expect(await count(withNew, 'select 1 as n')).toBe(1);
        } finally {
          await withNew.close();
        }
      } finally {
        vi.unstubAllEnvs();
        await ensureAppRole(asAdmin, { appRole: app, password: PASSWORD });
      }
    });

    it('db:roles warns when the migration owner is a superuser', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const [me] = await test.db.execute<{ super: boolean }>(
        sql`select rolsuper as super from pg_roles where rolname = current_user`,
      );
      const role = uniqueName('exora_app');
      try {
        const { code, err } = await cli(['roles', '--url', test.url, '--role', role]);
        expect(code).toBe(0);
        const warning =
          /^warning: the migration owner \S+ is a superuser: row-level security does not apply to it/;
        // The harness's administrator is normally a superuser; the owner above is not.
        if (me!.super) expect(err).toMatch(warning);
        else expect(err).toBe('');
      } finally {
        // Its grants live in the test database and on it: DROP OWNED there removes both.
        await test.db.execute(sql.raw(`DROP OWNED BY ${role}`));
        await admin.unsafe(`drop role if exists ${role}`);
      }
    });

    it('refuses to use the migration owner as the application role', async () => {
      await expect(ensureAppRole(asAdmin, { appRole: owner })).rejects.toThrow(
        /owns the tables \(it ran the migrations\)/,
      );
    });
  });
}

export function rlsSuite(ctx: MigrationsContext) {
  if (ctx.dialect === 'postgres') {
    rlsPostgres(ctx);
    return;
  }
  describe('roles (sqlite)', () => {
    it('says roles are a Postgres feature and exits 2', async () => {
      const test = await ctx.database();
      const result = await runMain(['roles', '--url', test.url]);
      expect(result.code).toBe(2);
      expect(result.err).toContain('Postgres features: nothing to do on SQLite');
    });
  });
}
