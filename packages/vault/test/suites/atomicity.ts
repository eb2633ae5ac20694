import type { Executor } from '@exora/core';
import { serviceActor } from '@exora/core';
import { keyIdOf } from '@exora/crypto';
import { describe, expect, it } from 'vitest';
import type { VaultSuiteContext } from './context.ts';

/**
 * An executor that counts the statements run through it (and its units and transactions) and,
 * with `failAt`, makes that one fail before it reaches the database: a statement failing half
 * way through a repository call.
 */
function countingStatements(
  exec: Executor,
  options: { failAt?: number } = {},
): Executor & { count(): number } {
  let statements = 0;
  const wrap = (e: Executor): Executor => ({
    ...e,
    run: (call, statement, params) => {
      statements += 1;
      if (statements === options.failAt) {
        return Promise.reject(new Error(`injected failure of statement #${statements}`));
      }
      return e.run(call, statement, params);
    },
    transaction: (fn) => e.transaction((inner) => fn(wrap(inner))),
    unit: (call, mode, fn) => e.unit(call, mode, (inner) => fn(wrap(inner))),
  });
  return Object.assign(wrap(exec), { count: () => statements });
}

export function atomicitySuite(ctx: VaultSuiteContext) {
  describe(`a failed call writes nothing (${ctx.dialect})`, () => {
    it('saves a new, an existing and a revoked grant in one statement each', async () => {
      const userId = await ctx.newUser('atomic');
      const vault = ctx.asUser(userId);
      const counting = countingStatements(ctx.db());
      const counted = ctx.vault(serviceActor('atomicity test'), { exec: counting });
      const save = (accessToken: string, refreshToken?: string) =>
        counted.oauthTokens.save({ provider: 'google', accessToken, refreshToken }, userId);

      await save('access-1', 'refresh-1');
      expect(counting.count()).toBe(1);
      await save('access-2');
      expect(counting.count()).toBe(2);
      await vault.oauthTokens.revoke('google');
      await save('access-3', 'refresh-3');
      expect(counting.count()).toBe(3);
      // The one statement wrote the new values and their ciphertexts together.
      expect(await vault.oauthTokens.getDecrypted('google')).toMatchObject({
        accessToken: 'access-3',
        refreshToken: 'refresh-3',
        revokedAt: null,
      });
    });

    it('keeps a revoked grant revoked when the transaction of the save that would revive it fails', async () => {
      const userId = await ctx.newUser('atomic-revoked');
      const vault = ctx.asUser(userId);
      await vault.oauthTokens.save({ provider: 'slack', accessToken: 'a', refreshToken: 'r' });
      await vault.oauthTokens.revoke('slack');
      const before = await ctx.snapshot();
      await expect(
        ctx.db().transaction(async (tx) => {
          const inside = ctx.vault(serviceActor('atomicity test'), { exec: tx });
          await inside.oauthTokens.save({ provider: 'slack', accessToken: 'b' }, userId);
          expect((await inside.oauthTokens.getDecrypted('slack', userId))?.accessToken).toBe('b');
          throw new Error('the caller gives up');
        }),
      ).rejects.toThrow('the caller gives up');
      expect(await ctx.snapshot()).toEqual(before);
      expect(await vault.oauthTokens.getDecrypted('slack')).toBeNull();
      expect((await vault.oauthTokens.find('slack'))?.revokedAt).toBeInstanceOf(Date);
    });

    it('saves a rotation batch all or nothing: a failed write rolls back the ones before it', async () => {
      const userId = await ctx.newUser('atomic-rotation');
      const vault = ctx.asUser(userId);
      await vault.apiKeys.create({ name: 'r1', provider: 'p' });
      await vault.apiKeys.create({ name: 'r2', provider: 'p' });
      const before = await ctx.snapshot();
      // Statement #1 reads the batch; #2 writes its first row, #3 (the second row) fails.
      const failing = countingStatements(ctx.db(), { failAt: 3 });
      const rolled = ctx.vault(serviceActor('atomicity test'), {
        exec: failing,
        crypto: ctx.rolledCrypto,
      });
      // (The encryption suite left tampered rows in this database: skipped, not rotated.)
      await expect(
        rolled.apiKeys.rotateEncryption({ batchSize: 10_000, skipUndecryptable: true }),
      ).rejects.toThrow('injected failure of statement #3');
      expect(failing.count()).toBe(3);
      expect(await ctx.snapshot()).toEqual(before);
      // There was work to roll back: every key, the two above included, is still under k1.
      expect(before.api_keys.map((row) => keyIdOf(row.encrypted_key))).toEqual(
        before.api_keys.map(() => 'k1'),
      );
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
