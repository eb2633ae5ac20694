import { NotFoundError } from '@exora/core';
import { describe, expect, it } from 'vitest';
import type { VaultSuiteContext } from './context.ts';

export function credentialsSuite(ctx: VaultSuiteContext) {
  describe(`credentials (${ctx.dialect})`, () => {
    it('saves JSON data encrypted and returns it only from getDecrypted', async () => {
      const userId = await ctx.newUser('cred');
      const vault = ctx.asUser(userId);
      const expiry = new Date(Date.now() + 86_400_000);
      const data = { username: 'dealer@example.test', password: 'p@ss', nested: { pin: 1234 } };
      const info = await vault.credentials.save({
        platform: 'vinsolutions',
        label: 'Main store',
        data,
        refreshToken: 'cred-refresh',
        refreshTokenExpiry: expiry,
      });
      expect(info).toMatchObject({
        userId,
        platform: 'vinsolutions',
        label: 'Main store',
        refreshTokenExpiry: expiry,
        active: true,
        hasRefreshToken: true,
      });
      expect(info).not.toHaveProperty('encryptedData');
      expect(info).not.toHaveProperty('refreshToken');
      expect(await vault.credentials.list()).toEqual([info]);
      expect(await vault.credentials.getDecrypted(info.id)).toEqual({
        ...info,
        data,
        refreshToken: 'cred-refresh',
      });
    });

    it('keeps several credentials per platform', async () => {
      const userId = await ctx.newUser('cred-many');
      const vault = ctx.asUser(userId);
      const one = await vault.credentials.save({ platform: 'dms', label: 'a', data: { n: 1 } });
      const two = await vault.credentials.save({ platform: 'dms', label: 'b', data: { n: 2 } });
      const listed = await vault.credentials.list();
      expect(new Set(listed.map((c) => c.id))).toEqual(new Set([one.id, two.id]));
      expect((await vault.credentials.getDecrypted(two.id))?.data).toEqual({ n: 2 });
      expect((await vault.credentials.getDecrypted(one.id))?.hasRefreshToken).toBe(false);
    });

    it('replaces the refresh token of an active credential', async () => {
      const userId = await ctx.newUser('cred-refresh');
      const vault = ctx.asUser(userId);
      const info = await vault.credentials.save({ platform: 'crm', data: { u: 'x' } });
      const expiry = new Date(Date.now() + 3_600_000);
      const updated = await vault.credentials.updateRefreshToken(info.id, {
        refreshToken: 'r-2',
        refreshTokenExpiry: expiry,
      });
      expect(updated).toMatchObject({ hasRefreshToken: true, refreshTokenExpiry: expiry });
      expect(await vault.credentials.getDecrypted(info.id)).toMatchObject({
        refreshToken: 'r-2',
        data: { u: 'x' },
      });
    });

    it('deactivates: no longer decrypted or refreshed, refresh token dropped, still listed', async () => {
      const userId = await ctx.newUser('cred-off');
      const vault = ctx.asUser(userId);
      const info = await vault.credentials.save({
        platform: 'crm',
        data: { u: 'x' },
        refreshToken: 'r-1',
      });
      const off = await vault.credentials.deactivate(info.id);
      expect(off).toMatchObject({
        active: false,
        hasRefreshToken: false,
        refreshTokenExpiry: null,
      });
      expect(await vault.credentials.getDecrypted(info.id)).toBeNull();
      await expect(
        vault.credentials.updateRefreshToken(info.id, { refreshToken: 'r-2' }),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect(await vault.credentials.list()).toEqual([off]);
      const [row] = await ctx.raw('credentials', { column: 'id', value: info.id });
      expect(row!.refresh_token).toBeNull();
    });

    it('lets a service save, list and read for a named user', async () => {
      const userId = await ctx.newUser('cred-service');
      const service = ctx.asService();
      const info = await service.credentials.save({ platform: 'p', data: { k: 'v' } }, userId);
      expect(info.userId).toBe(userId);
      expect(await service.credentials.list(userId)).toEqual([info]);
      expect((await service.credentials.getDecrypted(info.id))?.data).toEqual({ k: 'v' });
      // By id, without naming the owner: the new ciphertext is bound to the row's owner.
      const updated = await service.credentials.updateRefreshToken(info.id, {
        refreshToken: 'svc-refresh',
      });
      expect(updated).toMatchObject({ id: info.id, userId, hasRefreshToken: true });
      expect(await ctx.asUser(userId).credentials.getDecrypted(info.id)).toMatchObject({
        data: { k: 'v' },
        refreshToken: 'svc-refresh',
      });
      await expect(
        service.credentials.updateRefreshToken('00000000-0000-4000-8000-000000000000', {
          refreshToken: 'x',
        }),
      ).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
