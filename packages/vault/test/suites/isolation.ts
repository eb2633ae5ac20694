import { NotFoundError, PermissionError } from '@exora/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VaultRepositories } from '../../src/index.ts';
import type { VaultSuiteContext } from './context.ts';

type Probe = (b: VaultRepositories) => Promise<void>;

const denied = async (call: Promise<unknown>, ...errors: (new (...args: any[]) => Error)[]) => {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(
    errors.some((E) => error instanceof E),
    `rejected with ${String(error)}`,
  ).toBe(true);
};

/**
 * User B, through every method of every vault repository, on user A's rows: nothing of A's is
 * returned and nothing of A's changes.
 */
export function isolationSuite(ctx: VaultSuiteContext) {
  describe(`one user cannot reach another's vault (${ctx.dialect})`, () => {
    let a: string;
    let b: string;
    let ids: { credential: string; apiKey: string; integration: string; key: string };

    beforeAll(async () => {
      a = await ctx.newUser('victim');
      b = await ctx.newUser('intruder');
      const va = ctx.asUser(a);
      await va.oauthTokens.save({
        provider: 'google',
        accessToken: 'A-access',
        refreshToken: 'A-refresh',
        expiresAt: new Date(Date.now() - 1000),
      });
      const credential = await va.credentials.save({
        platform: 'vinsolutions',
        data: { password: 'A-password' },
        refreshToken: 'A-cred-refresh',
      });
      const { apiKey, plaintext } = await va.apiKeys.create({ name: 'main', provider: 'openai' });
      const integration = await va.integrations.create({
        provider: 'slack',
        name: 'ws',
        secrets: { token: 'A-slack' },
      });
      ids = {
        credential: credential.id,
        apiKey: apiKey.id,
        integration: integration.id,
        key: plaintext,
      };
    });

    const probes: { [R in keyof VaultRepositories]: Record<keyof VaultRepositories[R], Probe> } = {
      oauthTokens: {
        save: async (v) => {
          await denied(
            v.oauthTokens.save({ provider: 'google', accessToken: 'B' }, a),
            PermissionError,
          );
        },
        find: async (v) => {
          expect(await v.oauthTokens.find('google')).toBeNull();
          await denied(v.oauthTokens.find('google', a), PermissionError);
        },
        list: async (v) => {
          expect(await v.oauthTokens.list()).toEqual([]);
          await denied(v.oauthTokens.list(a), PermissionError);
        },
        getDecrypted: async (v) => {
          expect(await v.oauthTokens.getDecrypted('google')).toBeNull();
          await denied(v.oauthTokens.getDecrypted('google', a), PermissionError);
        },
        listExpiringBefore: async (v) => {
          await denied(v.oauthTokens.listExpiringBefore(new Date()), PermissionError);
        },
        revoke: async (v) => {
          expect(await v.oauthTokens.revoke('google')).toBe(false);
          await denied(v.oauthTokens.revoke('google', a), PermissionError);
        },
        rotateEncryption: async (v) => {
          await denied(v.oauthTokens.rotateEncryption(), PermissionError);
        },
      },
      credentials: {
        save: async (v) => {
          await denied(v.credentials.save({ platform: 'p', data: {} }, a), PermissionError);
        },
        getDecrypted: async (v) => {
          expect(await v.credentials.getDecrypted(ids.credential)).toBeNull();
        },
        list: async (v) => {
          expect(await v.credentials.list()).toEqual([]);
          await denied(v.credentials.list(a), PermissionError);
        },
        deactivate: async (v) => {
          await denied(v.credentials.deactivate(ids.credential), NotFoundError);
        },
        updateRefreshToken: async (v) => {
          await denied(
            v.credentials.updateRefreshToken(ids.credential, { refreshToken: 'B' }),
            NotFoundError,
          );
        },
        rotateEncryption: async (v) => {
          await denied(v.credentials.rotateEncryption(), PermissionError);
        },
      },
      apiKeys: {
        create: async (v) => {
          await denied(v.apiKeys.create({ name: 'x', provider: 'x', userId: a }), PermissionError);
        },
        createPlatformKey: async (v) => {
          await denied(v.apiKeys.createPlatformKey({ name: 'x', provider: 'x' }), PermissionError);
        },
        findByPlaintext: async (v) => {
          await denied(v.apiKeys.findByPlaintext(ids.key), PermissionError);
        },
        listMasked: async (v) => {
          expect(await v.apiKeys.listMasked()).toEqual([]);
          await denied(v.apiKeys.listMasked(a), PermissionError);
        },
        listPlatformKeys: async (v) => {
          await denied(v.apiKeys.listPlatformKeys(), PermissionError);
        },
        reveal: async (v) => {
          await denied(v.apiKeys.reveal(ids.apiKey), NotFoundError);
        },
        deactivate: async (v) => {
          await denied(v.apiKeys.deactivate(ids.apiKey), NotFoundError);
        },
        rotateEncryption: async (v) => {
          await denied(v.apiKeys.rotateEncryption(), PermissionError);
        },
      },
      integrations: {
        create: async (v) => {
          await denied(v.integrations.create({ provider: 'p', name: 'n' }, a), PermissionError);
        },
        list: async (v) => {
          expect(await v.integrations.list()).toEqual([]);
          await denied(v.integrations.list(a), PermissionError);
        },
        find: async (v) => {
          expect(await v.integrations.find(ids.integration)).toBeNull();
        },
        getSecrets: async (v) => {
          expect(await v.integrations.getSecrets(ids.integration)).toBeNull();
        },
        updateStatus: async (v) => {
          await denied(v.integrations.updateStatus(ids.integration, 'error'), NotFoundError);
        },
        updateConfig: async (v) => {
          await denied(v.integrations.updateConfig(ids.integration, { x: 1 }), NotFoundError);
        },
        updateSecrets: async (v) => {
          await denied(v.integrations.updateSecrets(ids.integration, { x: 'y' }), NotFoundError);
        },
        remove: async (v) => {
          await denied(v.integrations.remove(ids.integration), NotFoundError);
        },
        rotateEncryption: async (v) => {
          await denied(v.integrations.rotateEncryption(), PermissionError);
        },
      },
    };

    it('probes every method of every repository', () => {
      const vault = ctx.asUser(b);
      for (const repo of Object.keys(vault) as (keyof VaultRepositories)[]) {
        expect(Object.keys(probes[repo]).sort(), repo).toEqual(Object.keys(vault[repo]).sort());
      }
    });

    for (const repo of Object.keys(probes) as (keyof VaultRepositories)[]) {
      it(`${repo}: every method as user B leaves A's rows unseen and unchanged`, async () => {
        const before = await ctx.snapshot();
        const intruder = ctx.asUser(b);
        for (const probe of Object.values(probes[repo]) as Probe[]) await probe(intruder);
        expect(await ctx.snapshot()).toEqual(before);
        // And A still has everything, readable.
        const va = ctx.asUser(a);
        expect(await va.oauthTokens.getDecrypted('google')).toMatchObject({
          accessToken: 'A-access',
          refreshToken: 'A-refresh',
        });
        expect((await va.credentials.getDecrypted(ids.credential))?.data).toEqual({
          password: 'A-password',
        });
        expect(await va.apiKeys.reveal(ids.apiKey)).toBe(ids.key);
        expect(await va.integrations.getSecrets(ids.integration)).toEqual({ token: 'A-slack' });
      });
    }
  });
}
