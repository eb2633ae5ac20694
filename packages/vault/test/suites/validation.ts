import { ForeignKeyViolationError, ValidationError } from '@exora/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VaultRepositories } from '../../src/index.ts';
import type { VaultSuiteContext } from './context.ts';

const LONE_SURROGATE = 'secret-\uD800-value';

/** Bad input is refused with a ValidationError naming the field, and nothing is written. */
export function validationSuite(ctx: VaultSuiteContext) {
  describe(`input validation (${ctx.dialect})`, () => {
    let userId: string;
    let ids: { credential: string; apiKey: string; integration: string };

    beforeAll(async () => {
      userId = await ctx.newUser('validation');
      const v = ctx.asUser(userId);
      await v.oauthTokens.save({ provider: 'google', accessToken: 'valid' });
      const credential = await v.credentials.save({ platform: 'p', data: { a: 1 } });
      const { apiKey } = await v.apiKeys.create({ name: 'k', provider: 'x' });
      const integration = await v.integrations.create({ provider: 'p', name: 'n' });
      ids = { credential: credential.id, apiKey: apiKey.id, integration: integration.id };
    });

    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;

    type Case = [
      field: string,
      call: (user: VaultRepositories, service: VaultRepositories) => Promise<unknown>,
    ];
    const cases: Case[] = [
      // oauth tokens
      ['provider', (v) => v.oauthTokens.save({ provider: '  ', accessToken: 't' })],
      ['accessToken', (v) => v.oauthTokens.save({ provider: 'g', accessToken: '' })],
      ['accessToken', (v) => v.oauthTokens.save({ provider: 'g', accessToken: 42 as any })],
      ['accessToken', (v) => v.oauthTokens.save({ provider: 'g', accessToken: LONE_SURROGATE })],
      [
        'accessToken',
        (v) => v.oauthTokens.save({ provider: 'g', accessToken: 'x'.repeat(16_385) }),
      ],
      [
        'refreshToken',
        (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't', refreshToken: ' ' }),
      ],
      ['tokenType', (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't', tokenType: '' })],
      [
        'scopes',
        (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't', scopes: 'email' as any }),
      ],
      [
        'scopes[1]',
        (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't', scopes: ['a', ''] }),
      ],
      [
        'expiresAt',
        (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't', expiresAt: 'soon' as any }),
      ],
      [
        'expiresAt',
        (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't', expiresAt: new Date('x') }),
      ],
      ['userId', (v) => v.oauthTokens.save({ provider: 'g', accessToken: 't' }, 'not-a-uuid')],
      ['userId', (_, s) => s.oauthTokens.save({ provider: 'g', accessToken: 't' })],
      ['provider', (v) => v.oauthTokens.getDecrypted('')],
      ['provider', (v) => v.oauthTokens.revoke(undefined as any)],
      ['time', (_, s) => s.oauthTokens.listExpiringBefore('2026-01-01' as any)],
      ['limit', (_, s) => s.oauthTokens.listExpiringBefore(new Date(), { limit: 0 })],
      // credentials
      ['platform', (v) => v.credentials.save({ platform: '', data: {} })],
      ['platform', (v) => v.credentials.save({ platform: 'p'.repeat(101), data: {} })],
      ['label', (v) => v.credentials.save({ platform: 'p', label: 'l'.repeat(201), data: {} })],
      ['data', (v) => v.credentials.save({ platform: 'p', data: 'password' as any })],
      ['data', (v) => v.credentials.save({ platform: 'p', data: [] as any })],
      ['data', (v) => v.credentials.save({ platform: 'p', data: { n: 1n } })],
      ['data', (v) => v.credentials.save({ platform: 'p', data: cyclic })],
      [
        'refreshToken',
        (v) => v.credentials.save({ platform: 'p', data: {}, refreshToken: 7 as any }),
      ],
      [
        'refreshTokenExpiry',
        (v) =>
          v.credentials.save({
            platform: 'p',
            data: {},
            refreshToken: 'r',
            refreshTokenExpiry: 1 as any,
          }),
      ],
      [
        'refreshTokenExpiry',
        (v) => v.credentials.save({ platform: 'p', data: {}, refreshTokenExpiry: new Date() }),
      ],
      ['id', (v) => v.credentials.getDecrypted('123')],
      ['id', (v) => v.credentials.deactivate('')],
      [
        'refreshToken',
        (v) => v.credentials.updateRefreshToken(ids.credential, { refreshToken: '' }),
      ],
      [
        'refreshTokenExpiry',
        (v) =>
          v.credentials.updateRefreshToken(ids.credential, {
            refreshToken: 'r',
            refreshTokenExpiry: 'x' as any,
          }),
      ],
      // api keys
      ['name', (v) => v.apiKeys.create({ name: '', provider: 'x' })],
      ['provider', (v) => v.apiKeys.create({ name: 'n', provider: undefined as any })],
      ['key', (v) => v.apiKeys.create({ name: 'n', provider: 'x', key: 'short' })],
      ['key', (v) => v.apiKeys.create({ name: 'n', provider: 'x', key: 'sk-has a space-0123' })],
      ['key', (v) => v.apiKeys.create({ name: 'n', provider: 'x', key: 'k'.repeat(1025) })],
      ['metadata', (v) => v.apiKeys.create({ name: 'n', provider: 'x', metadata: [] as any })],
      ['userId', (_, s) => s.apiKeys.create({ name: 'n', provider: 'x' })],
      ['name', (_, s) => s.apiKeys.createPlatformKey({ name: ' ', provider: 'x' })],
      ['key', (_, s) => s.apiKeys.findByPlaintext(null as any)],
      ['id', (v) => v.apiKeys.reveal('nope')],
      ['id', (v) => v.apiKeys.deactivate(ids.apiKey.slice(1))],
      // integrations
      ['provider', (v) => v.integrations.create({ provider: '', name: 'n' })],
      ['name', (v) => v.integrations.create({ provider: 'p', name: 'n'.repeat(201) })],
      ['config', (v) => v.integrations.create({ provider: 'p', name: 'n', config: 'x' as any })],
      ['secrets', (v) => v.integrations.create({ provider: 'p', name: 'n', secrets: [] as any })],
      [
        'secrets.token',
        (v) => v.integrations.create({ provider: 'p', name: 'n', secrets: { token: 1 as any } }),
      ],
      [
        'secrets.token',
        (v) =>
          v.integrations.create({ provider: 'p', name: 'n', secrets: { token: LONE_SURROGATE } }),
      ],
      ['status', (v) => v.integrations.updateStatus(ids.integration, 'broken' as any)],
      [
        'lastError',
        (v) => v.integrations.updateStatus(ids.integration, 'error', { lastError: 5 as any }),
      ],
      [
        'lastSyncedAt',
        (v) =>
          v.integrations.updateStatus(ids.integration, 'connected', { lastSyncedAt: 'now' as any }),
      ],
      ['config', (v) => v.integrations.updateConfig(ids.integration, null as any)],
      ['secrets.k', (v) => v.integrations.updateSecrets(ids.integration, { k: '' })],
      ['id', (v) => v.integrations.getSecrets('x')],
      ['id', (v) => v.integrations.remove('x')],
      // rotation
      ['batchSize', (_, s) => s.apiKeys.rotateEncryption({ batchSize: 0 })],
      ['batchSize', (_, s) => s.oauthTokens.rotateEncryption({ batchSize: 1.5 })],
      ['startAfter', (_, s) => s.credentials.rotateEncryption({ startAfter: 'x' })],
    ];

    it('names the field of every bad input and writes nothing', async () => {
      const before = await ctx.snapshot();
      const user = ctx.asUser(userId);
      const service = ctx.asService();
      for (const [field, call] of cases) {
        const error = await call(user, service).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `expected a ValidationError for ${field}`).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe(field);
        expect((error as Error).message).toContain(field);
        expect((error as Error).message).not.toContain(LONE_SURROGATE);
      }
      expect(await ctx.snapshot()).toEqual(before);
    });

    it('writes nothing when the insert itself fails (unknown user)', async () => {
      const before = await ctx.snapshot();
      const ghost = '00000000-0000-4000-8000-000000000000';
      const service = ctx.asService();
      await expect(
        service.oauthTokens.save({ provider: 'g', accessToken: 't', refreshToken: 'r' }, ghost),
      ).rejects.toBeInstanceOf(ForeignKeyViolationError);
      await expect(
        service.credentials.save({ platform: 'p', data: {} }, ghost),
      ).rejects.toBeInstanceOf(ForeignKeyViolationError);
      await expect(
        service.apiKeys.create({ name: 'n', provider: 'p', userId: ghost }),
      ).rejects.toBeInstanceOf(ForeignKeyViolationError);
      await expect(
        service.integrations.create({ provider: 'p', name: 'n' }, ghost),
      ).rejects.toBeInstanceOf(ForeignKeyViolationError);
      expect(await ctx.snapshot()).toEqual(before);
    });
  });
}
