import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialect } from '@exora/core';
import { createTestDatabase, type TestDatabase } from '@exora/core/testing';
import { createTestCrypto, createTestEnv } from '@exora/crypto/testing';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CryptoConfigError,
  createDb,
  type ExoraDb,
  PermissionError,
  schema,
} from '../../src/index.ts';

export function createDbSuite(dialect: Dialect) {
  describe(`createDb (${dialect})`, () => {
    let test: TestDatabase;
    let db: ExoraDb;
    beforeAll(async () => {
      const sqliteUrl = join(mkdtempSync(join(tmpdir(), 'exora-db-')), 'exora.db');
      test = await createTestDatabase(dialect, [schema], { sqliteUrl });
      db = createDb({ url: test.url, crypto: createTestCrypto() });
    });
    afterAll(async () => {
      await db?.close();
      await test?.dispose();
    });

    it('runs the README example', async () => {
      const signup = db.asService('signup');
      const user = await signup.users.create({
        email: 'Ada@Example.com',
        password: 'correct horse battery',
      });
      const signedIn = await db
        .asService('login')
        .users.authenticate('ada@example.com', 'correct horse battery');
      expect(signedIn?.id).toBe(user.id);

      const me = db.forUser(user.id);
      const { organization, inviteToken } = await me.organizations.create({ name: 'Acme' });
      const asAdmin = db.forUser(user.id, organization.id);
      await asAdmin.userProfiles.upsert({ displayName: 'Ada' });
      const colleague = await signup.users.create({ email: 'bob@example.com', inviteToken });
      expect(
        (await asAdmin.organizations.listMembers(organization.id)).map((m) => m.email),
      ).toEqual(['ada@example.com', 'bob@example.com']);
      expect(colleague.organizationId).toBe(organization.id);

      // Secrets: stored encrypted, shown only when asked for.
      await me.oauthTokens.save({
        provider: 'google',
        accessToken: 'ya29.token',
        refreshToken: '1//refresh',
      });
      expect((await me.oauthTokens.getDecrypted('google'))?.accessToken).toBe('ya29.token');
      const { plaintext, apiKey } = await me.apiKeys.create({
        name: 'CLI',
        provider: 'openai',
        key: 'sk-live-1234567890abcdef',
      });
      expect(apiKey.maskedKey).not.toContain('567890');
      const presented = await db.asService('api gateway').apiKeys.findByPlaintext(plaintext);
      expect(presented?.userId).toBe(user.id);
      expect(await db.forUser(colleague.id).apiKeys.listMasked()).toEqual([]);
    });

    it('composes repository calls in one transaction for one actor: all or nothing', async () => {
      const owner = await db
        .asService('setup')
        .users.create({ email: `t-${Date.now()}@example.com` });
      const repos = db.forUser(owner.id);
      await expect(
        repos.transaction(async (r) => {
          await r.userProfiles.upsert({ displayName: 'kept?' });
          await r.setupProgress.completeStep({ step: 'welcome', nextStep: 'next' });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await repos.userProfiles.get()).toBeNull();
      expect(await repos.setupProgress.get()).toBeNull();
      await repos.transaction(async (r) => {
        await r.userProfiles.upsert({ displayName: 'kept' });
      });
      expect((await repos.userProfiles.get())?.displayName).toBe('kept');
    });

    it('offers the raw Drizzle handle and the schema for what no repository covers', async () => {
      const users = db.database.table(db.schema.users);
      const rows = await db.rawDrizzle
        .select({ email: users.email })
        .from(users)
        .where(eq(users.email, 'ada@example.com'));
      expect(rows).toEqual([{ email: 'ada@example.com' }]);
      expect(db.dialect).toBe(dialect);
    });

    it('names a service context at the call, and refuses service-only calls from users', async () => {
      expect(() => db.asService('')).toThrow(/say why/);
      const u = await db.asService('setup').users.create({ email: `s-${Date.now()}@example.com` });
      await expect(db.forUser(u.id).sessions.purgeExpired()).rejects.toBeInstanceOf(
        PermissionError,
      );
      expect(() => db.forUser('not-a-uuid')).toThrow(/UUID/);
    });
  });
}

export function startupSuite() {
  describe('createDb start-up', () => {
    it('fails with a message naming the variable when keys are missing or wrong', () => {
      expect(() => createDb({ url: ':memory:', env: {} })).toThrow(CryptoConfigError);
      expect(() => createDb({ url: ':memory:', env: {} })).toThrow(/EXORA_ENCRYPTION_KEYS/);
      expect(() =>
        createDb({
          url: ':memory:',
          env: { ...createTestEnv(), EXORA_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' },
        }),
      ).toThrow(/EXORA_ENCRYPTION_KEYS/);
    });

    it('reads DATABASE_URL and the keys from the environment', async () => {
      const db = createDb({ env: { ...createTestEnv(['k1', 'k2']), DATABASE_URL: ':memory:' } });
      expect(db.dialect).toBe('sqlite');
      await db.close();
    });
  });
}
