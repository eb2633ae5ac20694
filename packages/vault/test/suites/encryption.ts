import { DecryptionError, FORMAT_VERSION, keyIdOf } from '@exora/crypto';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VaultSuiteContext, VaultTable } from './context.ts';

const PREFIX = `${FORMAT_VERSION}.k1.`;

/** Each user's secrets, stored through the repositories. */
interface Stored {
  userId: string;
  oauthId: string;
  credentialId: string;
  apiKeyId: string;
  integrationId: string;
  secrets: string[];
}

/**
 * Every secret column holds ciphertext bound to its row: plain SQL sees only `ex1.k1....`, and
 * a ciphertext copied into another row (or another column) no longer decrypts.
 */
export function encryptionSuite(ctx: VaultSuiteContext) {
  describe(`secrets at rest (${ctx.dialect})`, () => {
    let a: Stored;
    let b: Stored;

    const store = async (label: string): Promise<Stored> => {
      const userId = await ctx.newUser(label);
      const vault = ctx.asUser(userId);
      const s = {
        access: `ya29.access-${label}-${'x'.repeat(40)}`,
        refresh: `1//refresh-${label}-${'y'.repeat(40)}`,
        password: `hunter2-${label}-password`,
        credRefresh: `cred-refresh-${label}-zzzzzz`,
        key: `sk-${label}-0123456789abcdefghijklmnop`,
        webhook: `whsec_${label}_abcdefghijklmnop`,
      };
      const token = await vault.oauthTokens.save({
        provider: 'google',
        accessToken: s.access,
        refreshToken: s.refresh,
      });
      const credential = await vault.credentials.save({
        platform: 'vinsolutions',
        data: { username: `${label}@dealer`, password: s.password },
        refreshToken: s.credRefresh,
      });
      const { apiKey } = await vault.apiKeys.create({
        name: 'main',
        provider: 'openai',
        key: s.key,
      });
      const integration = await vault.integrations.create({
        provider: 'slack',
        name: 'workspace',
        secrets: { webhookSecret: s.webhook },
      });
      return {
        userId,
        oauthId: token.id,
        credentialId: credential.id,
        apiKeyId: apiKey.id,
        integrationId: integration.id,
        secrets: Object.values(s),
      };
    };

    beforeAll(async () => {
      a = await store('alice');
      b = await store('bob');
    });

    const secretColumns: [VaultTable, keyof Stored, string][] = [
      ['oauth_tokens', 'oauthId', 'access_token'],
      ['oauth_tokens', 'oauthId', 'refresh_token'],
      ['credentials', 'credentialId', 'encrypted_data'],
      ['credentials', 'credentialId', 'refresh_token'],
      ['api_keys', 'apiKeyId', 'encrypted_key'],
      ['integrations', 'integrationId', 'encrypted_secrets'],
    ];

    it.each(secretColumns)('stores %s.%s as ciphertext only', async (table, idKey, column) => {
      for (const user of [a, b]) {
        const [row] = await ctx.raw(table, { column: 'id', value: user[idKey] as string });
        const value = row?.[column];
        expect(typeof value).toBe('string');
        expect(value.startsWith(PREFIX)).toBe(true);
        expect(keyIdOf(value)).toBe('k1');
        for (const secret of [...a.secrets, ...b.secrets]) {
          expect(value).not.toContain(secret);
          // Nor any recognisable piece of it.
          expect(value).not.toContain(secret.slice(0, 12));
        }
      }
    });

    it('keeps every plaintext out of every column of every vault row', async () => {
      const all = JSON.stringify(await ctx.snapshot());
      for (const secret of [...a.secrets, ...b.secrets]) expect(all).not.toContain(secret);
    });

    it('encrypts the same secret differently each time (random nonce)', async () => {
      const userId = await ctx.newUser('nonce');
      const vault = ctx.asUser(userId);
      const one = await vault.credentials.save({ platform: 'p', data: { v: 'same' } });
      const two = await vault.credentials.save({ platform: 'p', data: { v: 'same' } });
      const [r1] = await ctx.raw('credentials', { column: 'id', value: one.id });
      const [r2] = await ctx.raw('credentials', { column: 'id', value: two.id });
      expect(r1!.encrypted_data).not.toBe(r2!.encrypted_data);
    });

    const copy = async (table: VaultTable, column: string, fromId: string, toId: string) => {
      const [from] = await ctx.raw(table, { column: 'id', value: fromId });
      await ctx
        .db()
        .execute(
          sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${from![column]} where id = ${toId}`,
        );
    };

    it("rejects A's OAuth tokens copied into B's row with DecryptionError", async () => {
      await expect(ctx.asUser(b.userId).oauthTokens.getDecrypted('google')).resolves.toMatchObject({
        accessToken: b.secrets[0],
      });
      await copy('oauth_tokens', 'access_token', a.oauthId, b.oauthId);
      const error = await ctx
        .asUser(b.userId)
        .oauthTokens.getDecrypted('google')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DecryptionError);
      expect((error as DecryptionError).reason).toBe('authentication-failed');
      expect((error as Error).message).not.toContain(a.secrets[0]);
      // A's own row still decrypts.
      await expect(ctx.asUser(a.userId).oauthTokens.getDecrypted('google')).resolves.toMatchObject({
        accessToken: a.secrets[0],
        refreshToken: a.secrets[1],
      });
    });

    it("rejects A's credential data copied into B's row with DecryptionError", async () => {
      await copy('credentials', 'encrypted_data', a.credentialId, b.credentialId);
      await expect(
        ctx.asUser(b.userId).credentials.getDecrypted(b.credentialId),
      ).rejects.toBeInstanceOf(DecryptionError);
    });

    it("rejects A's API key ciphertext copied into B's row with DecryptionError", async () => {
      await copy('api_keys', 'encrypted_key', a.apiKeyId, b.apiKeyId);
      await expect(ctx.asUser(b.userId).apiKeys.reveal(b.apiKeyId)).rejects.toBeInstanceOf(
        DecryptionError,
      );
      await expect(ctx.asUser(a.userId).apiKeys.reveal(a.apiKeyId)).resolves.toBe(a.secrets[4]);
    });

    it("rejects A's integration secrets copied into B's row with DecryptionError", async () => {
      await copy('integrations', 'encrypted_secrets', a.integrationId, b.integrationId);
      await expect(
        ctx.asUser(b.userId).integrations.getSecrets(b.integrationId),
      ).rejects.toBeInstanceOf(DecryptionError);
    });

    it('rejects a ciphertext moved to another column of the same row', async () => {
      const [row] = await ctx.raw('credentials', { column: 'id', value: a.credentialId });
      await ctx
        .db()
        .execute(
          sql`update credentials set refresh_token = ${row!.encrypted_data} where id = ${a.credentialId}`,
        );
      await expect(
        ctx.asUser(a.userId).credentials.getDecrypted(a.credentialId),
      ).rejects.toBeInstanceOf(DecryptionError);
    });
  });
}
