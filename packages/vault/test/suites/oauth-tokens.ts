import { PermissionError } from '@exora/core';
import { describe, expect, it } from 'vitest';
import type { VaultSuiteContext } from './context.ts';

const hour = 3_600_000;

export function oauthTokensSuite(ctx: VaultSuiteContext) {
  describe(`oauth tokens (${ctx.dialect})`, () => {
    it('saves a grant and returns it without secrets; getDecrypted returns the tokens', async () => {
      const userId = await ctx.newUser('oauth');
      const vault = ctx.asUser(userId);
      const expiresAt = new Date(Date.now() + hour);
      const info = await vault.oauthTokens.save({
        provider: 'google',
        accessToken: 'access-1',
        refreshToken: 'refresh-1',
        scopes: ['email', 'calendar', 'email'],
        expiresAt,
      });
      expect(info).toMatchObject({
        userId,
        provider: 'google',
        tokenType: 'Bearer',
        scopes: ['email', 'calendar'],
        expiresAt,
        revokedAt: null,
        hasRefreshToken: true,
      });
      expect(info).not.toHaveProperty('accessToken');
      expect(info).not.toHaveProperty('refreshToken');
      expect(await vault.oauthTokens.find('google')).toEqual(info);
      expect(await vault.oauthTokens.list()).toEqual([info]);

      const decrypted = await vault.oauthTokens.getDecrypted('google');
      expect(decrypted).toEqual({ ...info, accessToken: 'access-1', refreshToken: 'refresh-1' });
      expect(await vault.oauthTokens.getDecrypted('github')).toBeNull();
    });

    it('updates the same row on a second save, keeping what the refresh left out', async () => {
      const userId = await ctx.newUser('oauth-upsert');
      const vault = ctx.asUser(userId);
      const first = await vault.oauthTokens.save({
        provider: 'google',
        accessToken: 'access-1',
        refreshToken: 'refresh-1',
        tokenType: 'bearer',
        scopes: ['email'],
      });
      const second = await vault.oauthTokens.save({ provider: 'google', accessToken: 'access-2' });
      expect(second.id).toBe(first.id);
      expect(second).toMatchObject({ tokenType: 'bearer', scopes: ['email'], expiresAt: null });
      expect(await vault.oauthTokens.getDecrypted('google')).toMatchObject({
        accessToken: 'access-2',
        refreshToken: 'refresh-1',
      });

      await vault.oauthTokens.save({ provider: 'google', accessToken: 'a3', refreshToken: null });
      expect(await vault.oauthTokens.getDecrypted('google')).toMatchObject({
        accessToken: 'a3',
        refreshToken: null,
        hasRefreshToken: false,
      });
      const rows = await ctx.raw('oauth_tokens', { column: 'user_id', value: userId });
      expect(rows).toHaveLength(1);
    });

    it('revokes: getDecrypted gives null, both secrets are destroyed, save revives', async () => {
      const userId = await ctx.newUser('oauth-revoke');
      const vault = ctx.asUser(userId);
      const saved = await vault.oauthTokens.save({
        provider: 'hubspot',
        accessToken: 'live-access',
        refreshToken: 'live-refresh',
      });
      expect(await vault.oauthTokens.revoke('hubspot')).toBe(true);
      expect(await vault.oauthTokens.getDecrypted('hubspot')).toBeNull();
      const info = await vault.oauthTokens.find('hubspot');
      expect(info?.revokedAt).toBeInstanceOf(Date);
      expect(info?.hasRefreshToken).toBe(false);

      const [row] = await ctx.raw('oauth_tokens', { column: 'id', value: saved.id });
      expect(row!.refresh_token).toBeNull();
      // The access token column (NOT NULL) now holds the encryption of an empty string, bound
      // (like every token) to the grant's user and provider.
      expect(
        ctx.crypto.cipher.decrypt(row!.access_token, {
          table: 'oauth_tokens',
          column: 'access_token',
          rowId: JSON.stringify([userId, 'hubspot']),
        }),
      ).toBe('');
      expect(await vault.oauthTokens.revoke('hubspot')).toBe(false);

      const revived = await vault.oauthTokens.save({ provider: 'hubspot', accessToken: 'new' });
      expect(revived.id).toBe(saved.id);
      expect(revived.revokedAt).toBeNull();
      expect(await vault.oauthTokens.getDecrypted('hubspot')).toMatchObject({
        accessToken: 'new',
        refreshToken: null,
      });
    });

    it('lets a service save and read for a named user', async () => {
      const userId = await ctx.newUser('oauth-service');
      const service = ctx.asService();
      const info = await service.oauthTokens.save(
        { provider: 'google', accessToken: 'svc-access' },
        userId,
      );
      expect(info.userId).toBe(userId);
      expect(await service.oauthTokens.getDecrypted('google', userId)).toMatchObject({
        accessToken: 'svc-access',
      });
      expect(await ctx.asUser(userId).oauthTokens.getDecrypted('google')).toMatchObject({
        accessToken: 'svc-access',
      });
    });

    it('lists live grants expiring before a time, across users, without secrets (service only)', async () => {
      const base = Date.now() + 1000 * hour; // later than every other test's tokens
      const u1 = await ctx.newUser('exp1');
      const u2 = await ctx.newUser('exp2');
      const v1 = ctx.asUser(u1);
      const v2 = ctx.asUser(u2);
      const soon = await v1.oauthTokens.save({
        provider: 'google',
        accessToken: 'a',
        expiresAt: new Date(base + hour),
      });
      const sooner = await v2.oauthTokens.save({
        provider: 'google',
        accessToken: 'b',
        expiresAt: new Date(base + 30 * 60_000),
      });
      await v2.oauthTokens.save({
        provider: 'slack',
        accessToken: 'c',
        expiresAt: new Date(base + 5 * hour),
      });
      await v1.oauthTokens.save({
        provider: 'hubspot',
        accessToken: 'd',
        expiresAt: new Date(base + hour / 2),
      });
      await v1.oauthTokens.revoke('hubspot');
      await v1.oauthTokens.save({ provider: 'github', accessToken: 'no expiry' });

      await expect(v1.oauthTokens.listExpiringBefore(new Date(base))).rejects.toBeInstanceOf(
        PermissionError,
      );
      const found = await ctx.asService().oauthTokens.listExpiringBefore(new Date(base + 2 * hour));
      const mine = found.filter((t) => t.userId === u1 || t.userId === u2);
      expect(mine.map((t) => t.id)).toEqual([sooner.id, soon.id]);
      for (const t of found) {
        expect(t).not.toHaveProperty('accessToken');
        expect(t).not.toHaveProperty('refreshToken');
        expect(t.revokedAt).toBeNull();
      }
      const limited = await ctx
        .asService()
        .oauthTokens.listExpiringBefore(new Date(base + 2 * hour), { limit: 1 });
      expect(limited).toHaveLength(1);
    });
  });
}
