import { createHash } from 'node:crypto';
import { NotFoundError, PermissionError, UniqueViolationError } from '@exora/core';
import { mask } from '@exora/crypto';
import { describe, expect, it } from 'vitest';
import type { VaultSuiteContext } from './context.ts';

export function apiKeysSuite(ctx: VaultSuiteContext) {
  describe(`api keys (${ctx.dialect})`, () => {
    it('creates a key: plaintext returned once, info masked, hash and ciphertext stored', async () => {
      const userId = await ctx.newUser('key');
      const vault = ctx.asUser(userId);
      const key = 'sk-live-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
      const { apiKey, plaintext } = await vault.apiKeys.create({
        name: 'OpenAI',
        provider: 'openai',
        key,
        metadata: { endpoint_id: 'ep-1' },
      });
      expect(plaintext).toBe(key);
      expect(apiKey).toMatchObject({
        userId,
        name: 'OpenAI',
        provider: 'openai',
        maskedKey: mask(key),
        metadata: { endpoint_id: 'ep-1' },
        active: true,
        lastUsedAt: null,
      });
      expect(apiKey.maskedKey).toBe('sk-l...789');
      expect(apiKey).not.toHaveProperty('encryptedKey');
      expect(apiKey).not.toHaveProperty('keyHash');
      expect(await vault.apiKeys.listMasked()).toEqual([apiKey]);
      expect(await vault.apiKeys.reveal(apiKey.id)).toBe(key);
    });

    it('generates a random exo_ key when none is given', async () => {
      const userId = await ctx.newUser('key-gen');
      const vault = ctx.asUser(userId);
      const one = await vault.apiKeys.create({ name: 'a', provider: 'exora' });
      const two = await vault.apiKeys.create({ name: 'b', provider: 'exora' });
      expect(one.plaintext).toMatch(/^exo_[A-Za-z0-9_-]{43}$/);
      expect(two.plaintext).not.toBe(one.plaintext);
      expect(await vault.apiKeys.reveal(one.apiKey.id)).toBe(one.plaintext);
    });

    it('stores an HMAC blind index, not a bare SHA-256 of the key', async () => {
      const userId = await ctx.newUser('key-hash');
      const { apiKey, plaintext } = await ctx
        .asUser(userId)
        .apiKeys.create({ name: 'h', provider: 'openai' });
      const [row] = await ctx.raw('api_keys', { column: 'id', value: apiKey.id });
      const sha256 = createHash('sha256').update(plaintext).digest('hex');
      expect(row!.key_hash).not.toBe(sha256);
      expect(row!.key_hash).not.toBe(createHash('sha256').update(plaintext).digest('base64'));
      expect(row!.key_hash).toBe(ctx.crypto.blindIndex.hash(plaintext, { normalize: 'none' }));
      expect(row!.key_hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('finds an active key by plaintext (service), records the use, and nothing else', async () => {
      const userId = await ctx.newUser('key-find');
      const vault = ctx.asUser(userId);
      const service = ctx.asService();
      const { apiKey, plaintext } = await vault.apiKeys.create({ name: 'gw', provider: 'exora' });

      const found = await service.apiKeys.findByPlaintext(plaintext);
      expect(found).toMatchObject({ id: apiKey.id, userId, name: 'gw', active: true });
      expect(found?.lastUsedAt).toBeInstanceOf(Date);
      expect(found).not.toHaveProperty('encryptedKey');
      expect(found).not.toHaveProperty('keyHash');
      expect((await vault.apiKeys.listMasked())[0]?.lastUsedAt).toEqual(found?.lastUsedAt);
      // Found again: the prepared statement is reused.
      expect((await service.apiKeys.findByPlaintext(plaintext))?.id).toBe(apiKey.id);

      expect(await service.apiKeys.findByPlaintext(`${plaintext}x`)).toBeNull();
      expect(await service.apiKeys.findByPlaintext(plaintext.toUpperCase())).toBeNull();
      expect(await service.apiKeys.findByPlaintext(` ${plaintext}`)).toBeNull();
      expect(await service.apiKeys.findByPlaintext('')).toBeNull();

      const off = await vault.apiKeys.deactivate(apiKey.id);
      expect(off.active).toBe(false);
      expect(await service.apiKeys.findByPlaintext(plaintext)).toBeNull();
      await expect(vault.apiKeys.reveal(apiKey.id)).rejects.toBeInstanceOf(NotFoundError);
      expect(await vault.apiKeys.listMasked()).toMatchObject([{ id: apiKey.id, active: false }]);

      await expect(vault.apiKeys.findByPlaintext(plaintext)).rejects.toBeInstanceOf(
        PermissionError,
      );
    });

    it('keeps names unique per owner and keys unique everywhere', async () => {
      const u1 = await ctx.newUser('key-dup1');
      const u2 = await ctx.newUser('key-dup2');
      const { plaintext } = await ctx.asUser(u1).apiKeys.create({ name: 'same', provider: 'x' });
      const dupName = await ctx
        .asUser(u1)
        .apiKeys.create({ name: 'same', provider: 'y' })
        .catch((e: unknown) => e);
      expect(dupName).toBeInstanceOf(UniqueViolationError);
      expect((dupName as UniqueViolationError).constraint).toBe('api_keys_user_name_unique');
      // The same name for another user is fine; the same key is not.
      await expect(
        ctx.asUser(u2).apiKeys.create({ name: 'same', provider: 'x' }),
      ).resolves.toMatchObject({ apiKey: { userId: u2 } });
      const dupKey = await ctx
        .asUser(u2)
        .apiKeys.create({ name: 'other', provider: 'x', key: plaintext })
        .catch((e: unknown) => e);
      expect(dupKey).toBeInstanceOf(UniqueViolationError);
      expect((dupKey as UniqueViolationError).constraint).toBe('api_keys_key_hash_unique');
      expect((dupKey as Error).message).not.toContain(plaintext);
      expect(await ctx.asUser(u1).apiKeys.listMasked()).toHaveLength(1);
      expect(await ctx.asUser(u2).apiKeys.listMasked()).toHaveLength(1);
    });

    it('keeps platform keys (no owner) to service contexts', async () => {
      const service = ctx.asService();
      const name = `platform-${Date.now()}`;
      const { apiKey, plaintext } = await service.apiKeys.createPlatformKey({
        name,
        provider: 'exora',
      });
      expect(apiKey.userId).toBeNull();
      expect(await service.apiKeys.findByPlaintext(plaintext)).toMatchObject({
        id: apiKey.id,
        userId: null,
      });
      expect((await service.apiKeys.listPlatformKeys()).map((k) => k.id)).toContain(apiKey.id);
      expect(await service.apiKeys.reveal(apiKey.id)).toBe(plaintext);
      const dup = await service.apiKeys
        .createPlatformKey({ name, provider: 'exora' })
        .catch((e: unknown) => e);
      expect((dup as UniqueViolationError).constraint).toBe('api_keys_platform_name_unique');

      const userId = await ctx.newUser('key-platform');
      const user = ctx.asUser(userId);
      await expect(
        user.apiKeys.createPlatformKey({ name: 'mine', provider: 'exora' }),
      ).rejects.toBeInstanceOf(PermissionError);
      await expect(user.apiKeys.listPlatformKeys()).rejects.toBeInstanceOf(PermissionError);
      await expect(user.apiKeys.reveal(apiKey.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(user.apiKeys.deactivate(apiKey.id)).rejects.toBeInstanceOf(NotFoundError);
      expect(await user.apiKeys.listMasked()).toEqual([]);
      // A service creating a user's key names the user.
      const created = await service.apiKeys.create({ name: 'for-user', provider: 'x', userId });
      expect(created.apiKey.userId).toBe(userId);
      expect(await service.apiKeys.listMasked(userId)).toEqual([created.apiKey]);
    });
  });
}
