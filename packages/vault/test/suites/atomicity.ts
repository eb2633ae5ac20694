import type { Executor } from '@exora/core';
import { serviceActor } from '@exora/core';
import { describe, expect, it } from 'vitest';
import type { VaultSuiteContext } from './context.ts';

/**
 * An executor whose transactions fail on the `nth` write statement (insert, update or delete),
 * after the earlier ones ran: a statement failing half way through a repository call.
 */
export function failingOnWrite(exec: Executor, nth: number): Executor {
  let writes = 0;
  const wrap = (tx: Executor): Executor => ({
    ...tx,
    db: new Proxy(tx.db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'insert' && prop !== 'update' && prop !== 'delete') return value;
        return (...args: unknown[]) => {
          writes += 1;
          if (writes === nth) throw new Error(`injected failure of write #${nth}`);
          return value.apply(target, args);
        };
      },
    }),
    transaction: (fn) => tx.transaction((inner) => fn(wrap(inner))),
    unit: (call, mode, fn) => tx.unit(call, mode, (inner) => fn(wrap(inner))),
  });
  return {
    ...exec,
    transaction: (fn) => exec.transaction((tx) => fn(wrap(tx))),
    unit: (call, mode, fn) => exec.unit(call, mode, (tx) => fn(wrap(tx))),
  };
}

export function atomicitySuite(ctx: VaultSuiteContext) {
  describe(`a failed call writes nothing (${ctx.dialect})`, () => {
    it('rolls back the upsert of an OAuth grant when the secrets update after it fails', async () => {
      const userId = await ctx.newUser('atomic');
      const vault = ctx.asUser(userId);
      await vault.oauthTokens.save({
        provider: 'google',
        accessToken: 'old-access',
        refreshToken: 'old-refresh',
        scopes: ['email'],
      });
      await vault.oauthTokens.revoke('google');
      await vault.oauthTokens.save({
        provider: 'google',
        accessToken: 'old-access',
        refreshToken: 'old-refresh',
        scopes: ['email'],
      });
      const before = await ctx.snapshot();

      // Write #1 (the upsert: new scopes, expiry) runs; write #2 (the row's new ciphertexts) fails.
      const broken = ctx.vault(serviceActor('atomicity test'), {
        exec: failingOnWrite(ctx.db(), 2),
      });
      await expect(
        broken.oauthTokens.save(
          {
            provider: 'google',
            accessToken: 'new-access',
            refreshToken: 'new-refresh',
            scopes: ['calendar'],
            expiresAt: new Date(),
          },
          userId,
        ),
      ).rejects.toThrow('injected failure of write #2');

      expect(await ctx.snapshot()).toEqual(before);
      expect(await vault.oauthTokens.getDecrypted('google')).toMatchObject({
        accessToken: 'old-access',
        refreshToken: 'old-refresh',
        scopes: ['email'],
        expiresAt: null,
      });
    });

    it('keeps a revoked grant revoked when the save that would revive it fails', async () => {
      const userId = await ctx.newUser('atomic-revoked');
      const vault = ctx.asUser(userId);
      await vault.oauthTokens.save({ provider: 'slack', accessToken: 'a', refreshToken: 'r' });
      await vault.oauthTokens.revoke('slack');
      const before = await ctx.snapshot();
      const broken = ctx.vault(serviceActor('atomicity test'), {
        exec: failingOnWrite(ctx.db(), 2),
      });
      await expect(
        broken.oauthTokens.save({ provider: 'slack', accessToken: 'b' }, userId),
      ).rejects.toThrow('injected');
      expect(await ctx.snapshot()).toEqual(before);
      expect(await vault.oauthTokens.getDecrypted('slack')).toBeNull();
      expect((await vault.oauthTokens.find('slack'))?.revokedAt).toBeInstanceOf(Date);
    });

    it('leaves nothing of a repository call made inside a transaction that fails later', async () => {
      const userId = await ctx.newUser('atomic-outer');
      const before = await ctx.snapshot();
      await expect(
        ctx.db().transaction(async (tx) => {
          const vault = ctx.vault(serviceActor('outer transaction test'), { exec: tx });
          await vault.apiKeys.create({ name: 'k', provider: 'p', userId });
          await vault.integrations.create(
            { provider: 'p', name: 'n', secrets: { s: 'x' } },
            userId,
          );
          throw new Error('the caller gives up');
        }),
      ).rejects.toThrow('the caller gives up');
      expect(await ctx.snapshot()).toEqual(before);
    });
  });
}
