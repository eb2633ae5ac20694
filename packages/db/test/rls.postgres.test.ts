/**
 * Row-level security is a Postgres feature (on SQLite the repositories' own filters, tested in
 * every domain's shared suites, are the whole rule). Here the repositories run as an
 * application role that is neither superuser nor owner nor BYPASSRLS, so every policy applies:
 * the repositories must work through them, and raw SQL without the actor's settings must see
 * no one's rows.
 */

import { connect } from '@exora/core';
import { createTestDatabase, type TestDatabase } from '@exora/core/testing';
import { createTestCrypto } from '@exora/crypto/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type ExoraDb, schema } from '../src/index.ts';

const APP_ROLE = 'exora_rls_test_app';

describe('repositories under row-level security (postgres, application role)', () => {
  let test: TestDatabase;
  let db: ExoraDb;

  beforeAll(async () => {
    test = await createTestDatabase('postgres', [schema]);
    const admin = connect(test.url);
    // Roles are cluster-wide and test files run in parallel: create it once, tolerate the race.
    await admin.execute(
      sql.raw(`
      do $$ begin
        create role ${APP_ROLE} login nosuperuser nobypassrls;
      exception when duplicate_object or unique_violation then null;
      end $$    `),
    );
    await admin.execute(sql.raw(`grant usage on schema public to ${APP_ROLE}`));
    await admin.execute(
      sql.raw(`grant select, insert, update, delete on all tables in schema public to ${APP_ROLE}`),
    );
    await admin.close();
    const url = new URL(test.url);
    url.username = APP_ROLE;
    url.password = '';
    db = createDb({ url: url.toString(), crypto: createTestCrypto() });
  });
  afterAll(async () => {
    await db?.close();
    await test?.dispose();
  });

  it('runs as a role the policies apply to', async () => {
    const [me] = await db.database.execute<{ rolsuper: boolean; rolbypassrls: boolean }>(
      sql`select rolsuper, rolbypassrls from pg_roles where rolname = current_user`,
    );
    expect(me).toEqual({ rolsuper: false, rolbypassrls: false });
  });

  it('works through the policies, and raw SQL without settings sees no rows', async () => {
    const signup = db.asService('signup');
    const a = await signup.users.create({
      email: `a-${Date.now()}@example.com`,
      password: 'password one',
    });
    const b = await signup.users.create({ email: `b-${Date.now()}@example.com` });
    const asA = db.forUser(a.id);
    await asA.oauthTokens.save({ provider: 'google', accessToken: 'token-a' });
    await asA.apiKeys.create({ name: 'cli', provider: 'openai', key: 'sk-a-1234567890' });
    await asA.userProfiles.upsert({ displayName: 'A' });
    const { organization } = await asA.organizations.create({ name: 'A Co' });
    await db
      .forUser(a.id, organization.id)
      .subdomainConfigs.create({ subdomain: `a-${Date.now()}` });

    expect((await asA.oauthTokens.getDecrypted('google'))?.accessToken).toBe('token-a');
    expect(await db.forUser(b.id).oauthTokens.getDecrypted('google')).toBeNull();
    expect(await db.forUser(b.id).apiKeys.listMasked()).toEqual([]);
    expect(await db.forUser(b.id).users.findById(a.id)).toBeNull();
    expect((await db.asService('login').users.authenticate(a.email, 'password one'))?.id).toBe(
      a.id,
    );

    for (const table of [
      'users',
      'oauth_tokens',
      'api_keys',
      'user_profiles',
      'organizations',
      'subdomain_configs',
    ]) {
      const rows = await db.database.execute(sql`select * from ${sql.identifier(table)}`);
      expect({ table, rows }).toEqual({ table, rows: [] });
    }

    // With B's settings, raw SQL still cannot reach A's rows, nor write rows as A.
    await db.transaction(async (tx) => {
      await tx.setLocal({ 'app.user_id': b.id });
      expect(await tx.execute(sql`select id from oauth_tokens`)).toEqual([]);
      const users = await tx.execute<{ id: string }>(sql`select id from users`);
      expect(users.map((u) => u.id)).toEqual([b.id]);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': b.id });
        await tx.execute(sql`insert into user_profiles (user_id) values (${a.id})`);
      }),
    ).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: 'new row violates row-level security policy for table "user_profiles"',
    });
  });
});
