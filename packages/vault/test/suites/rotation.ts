import type { Executor } from '@exora/core';
import { type Dialect, serviceActor } from '@exora/core';
import { DecryptionError, keyIdOf, type RotationProgress } from '@exora/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useVaultDatabase, type VaultTable } from './context.ts';

/**
 * Key rotation on the real tables, in a database of its own so the counts are exact: values
 * written under keyring ['k1'] are re-encrypted by a keyring ['k1', 'k2'] (active k2).
 */
export function rotationSuite(dialect: Dialect) {
  describe(`key rotation (${dialect})`, () => {
    const ctx = useVaultDatabase(dialect);
    const keyIds = async (table: VaultTable, column: string) =>
      (await ctx.raw(table)).map((r) => (r[column] === null ? null : keyIdOf(r[column])));

    describe('api_keys', () => {
      const keys = new Map<string, string>(); // id -> plaintext
      const ordered: string[] = [];

      beforeAll(async () => {
        const u1 = await ctx.newUser('rot1');
        const u2 = await ctx.newUser('rot2');
        for (const [i, owner] of [u1, u1, u1, u2, u2].entries()) {
          const { apiKey, plaintext } = await ctx
            .asUser(owner)
            .apiKeys.create({ name: `k${i}`, provider: 'openai' });
          keys.set(apiKey.id, plaintext);
        }
        for (const name of ['platform-a', 'platform-b']) {
          const { apiKey, plaintext } = await ctx
            .asService()
            .apiKeys.createPlatformKey({ name, provider: 'exora' });
          keys.set(apiKey.id, plaintext);
        }
        // An inactive key is rotated too (it stays readable to a service).
        await ctx.asUser(u2).apiKeys.deactivate([...keys.keys()][4]!);
        ordered.push(...(await ctx.raw('api_keys')).map((r) => r.id as string));
      });

      it('starts with every key under k1, readable by the rolled keyring', async () => {
        expect(await keyIds('api_keys', 'encrypted_key')).toEqual(Array(7).fill('k1'));
        const rolled = ctx.asService(ctx.rolledCrypto);
        const [first] = [...keys];
        expect(await rolled.apiKeys.reveal(first![0])).toBe(first![1]);
      });

      it('resumes from the cursor after a crash in onBatch, then a second run rotates nothing', async () => {
        const rolled = ctx.asService(ctx.rolledCrypto);
        let cursor: string | null = null;
        const crash = await rolled.apiKeys
          .rotateEncryption({
            batchSize: 3,
            onBatch(progress: RotationProgress) {
              cursor = progress.cursor;
              throw new Error('process killed after the first batch');
            },
          })
          .catch((e: unknown) => e);
        expect((crash as Error).message).toBe('process killed after the first batch');
        expect(cursor).toBe(ordered[2]);
        // The first batch (three lowest ids) is saved; the rest is untouched.
        expect(await keyIds('api_keys', 'encrypted_key')).toEqual([
          'k2',
          'k2',
          'k2',
          'k1',
          'k1',
          'k1',
          'k1',
        ]);

        const batches: RotationProgress[] = [];
        const resumed = await rolled.apiKeys.rotateEncryption({
          batchSize: 3,
          startAfter: cursor,
          onBatch: (p) => {
            batches.push(p);
          },
        });
        expect(resumed).toEqual({
          scanned: 4,
          rotated: 4,
          skipped: 0,
          values: 4,
          failed: 0,
          conflicts: 0,
          batches: 2,
          cursor: ordered[6],
          done: true,
        });
        expect(batches.map((b) => b.cursor)).toEqual([ordered[5], ordered[6]]);
        expect(await keyIds('api_keys', 'encrypted_key')).toEqual(Array(7).fill('k2'));

        // Old and new values: every key decrypts to its plaintext and is still found by it.
        for (const [id, plaintext] of keys) {
          expect(await rolled.apiKeys.reveal(id).catch(() => 'inactive')).toBe(
            id === [...keys.keys()][4] ? 'inactive' : plaintext,
          );
        }
        const [platformId, platformKey] = [...keys][5]!;
        expect((await rolled.apiKeys.findByPlaintext(platformKey))?.id).toBe(platformId);
        // The old keyring cannot read the new values.
        await expect(ctx.asService().apiKeys.reveal(platformId)).rejects.toBeInstanceOf(
          DecryptionError,
        );

        const again = await rolled.apiKeys.rotateEncryption({ batchSize: 3 });
        expect(again).toMatchObject({ scanned: 7, rotated: 0, skipped: 7, values: 0, done: true });
        expect(again.batches).toBe(3);
      });

      it('counts a value changed between read and write as a conflict and keeps the newer one', async () => {
        // A fresh key under k1, then a rotation whose save finds the row changed.
        const owner = await ctx.newUser('rot-cas');
        const { apiKey } = await ctx.asUser(owner).apiKeys.create({ name: 'cas', provider: 'x' });
        const [row] = await ctx.raw('api_keys', { column: 'id', value: apiKey.id });
        // A key's ciphertext is bound to the row's id and owner.
        const replacement = ctx.rolledCrypto.cipher.encrypt('replaced-key', {
          table: 'api_keys',
          column: 'encrypted_key',
          rowId: JSON.stringify([apiKey.id, owner]),
        });
        // After the batch was read, before the save unit (the first write unit) writes, the
        // row's ciphertext is replaced, as a concurrent writer would.
        let writeUnits = 0;
        const db = ctx.db();
        const interfering: Executor = {
          ...db,
          unit: (call, mode, fn) =>
            db.unit(call, mode, async (tx) => {
              if (mode === 'write') writeUnits += 1;
              if (mode === 'write' && writeUnits === 1) {
                const { sql } = await import('drizzle-orm');
                await tx.execute(
                  sql`update api_keys set encrypted_key = ${replacement} where id = ${apiKey.id}`,
                );
              }
              return fn(tx);
            }),
        };
        const result = await ctx
          .vault(serviceActor('rotation conflict test'), {
            exec: interfering,
            crypto: ctx.rolledCrypto,
          })
          .apiKeys.rotateEncryption({ batchSize: 100 });
        expect(result).toMatchObject({ scanned: 8, rotated: 0, skipped: 7, conflicts: 1 });
        const [after] = await ctx.raw('api_keys', { column: 'id', value: apiKey.id });
        expect(after!.encrypted_key).toBe(replacement);
        expect(after!.encrypted_key).not.toBe(row!.encrypted_key);
        expect(await ctx.asService(ctx.rolledCrypto).apiKeys.reveal(apiKey.id)).toBe(
          'replaced-key',
        );
      });
    });

    it('rotates both token columns of oauth_tokens, skipping empty refresh tokens', async () => {
      const users = [await ctx.newUser('o1'), await ctx.newUser('o2'), await ctx.newUser('o3')];
      await ctx.asUser(users[0]!).oauthTokens.save({
        provider: 'google',
        accessToken: 'a0',
        refreshToken: 'r0',
      });
      await ctx.asUser(users[1]!).oauthTokens.save({ provider: 'google', accessToken: 'a1' });
      await ctx.asUser(users[2]!).oauthTokens.save({
        provider: 'google',
        accessToken: 'a2',
        refreshToken: 'r2',
      });
      const rolled = ctx.asService(ctx.rolledCrypto);
      const result = await rolled.oauthTokens.rotateEncryption({ batchSize: 2 });
      expect(result).toMatchObject({
        scanned: 3,
        rotated: 3,
        skipped: 0,
        values: 5,
        conflicts: 0,
        batches: 2,
        done: true,
      });
      expect(await keyIds('oauth_tokens', 'access_token')).toEqual(['k2', 'k2', 'k2']);
      expect((await keyIds('oauth_tokens', 'refresh_token')).sort()).toEqual(['k2', 'k2', null]);
      for (const [i, userId] of users.entries()) {
        expect(await rolled.oauthTokens.getDecrypted('google', userId)).toMatchObject({
          accessToken: `a${i}`,
          refreshToken: i === 1 ? null : `r${i}`,
        });
      }
      expect(await rolled.oauthTokens.rotateEncryption()).toMatchObject({
        scanned: 3,
        rotated: 0,
        skipped: 3,
      });
    });

    it('rotates credentials and integrations too', async () => {
      const userId = await ctx.newUser('ci');
      const vault = ctx.asUser(userId);
      const c1 = await vault.credentials.save({ platform: 'p', data: { a: 1 }, refreshToken: 'r' });
      const c2 = await vault.credentials.save({ platform: 'p', data: { b: 2 } });
      const i1 = await vault.integrations.create({ provider: 'p', name: 'a', secrets: { s: '1' } });
      const i2 = await vault.integrations.create({ provider: 'p', name: 'b' });
      const rolled = ctx.asService(ctx.rolledCrypto);

      expect(await rolled.credentials.rotateEncryption()).toMatchObject({
        scanned: 2,
        rotated: 2,
        values: 3,
        done: true,
      });
      expect(await rolled.integrations.rotateEncryption()).toMatchObject({
        scanned: 2,
        rotated: 1,
        skipped: 1,
        values: 1,
      });
      expect(await rolled.credentials.getDecrypted(c1.id)).toMatchObject({
        data: { a: 1 },
        refreshToken: 'r',
      });
      expect((await rolled.credentials.getDecrypted(c2.id))?.data).toEqual({ b: 2 });
      expect(await rolled.integrations.getSecrets(i1.id)).toEqual({ s: '1' });
      expect(await rolled.integrations.getSecrets(i2.id)).toEqual({});
      expect(await keyIds('credentials', 'encrypted_data')).toEqual(['k2', 'k2']);
      expect(await rolled.credentials.rotateEncryption()).toMatchObject({ rotated: 0, skipped: 2 });
      expect(await rolled.integrations.rotateEncryption()).toMatchObject({
        rotated: 0,
        skipped: 2,
      });
    });
  });
}
