import { NotFoundError, UniqueViolationError } from '@exora/core';
import { describe, expect, it } from 'vitest';
import type { VaultSuiteContext } from './context.ts';

export function integrationsSuite(ctx: VaultSuiteContext) {
  describe(`integrations (${ctx.dialect})`, () => {
    it('creates with readable config and encrypted secrets; getSecrets decrypts', async () => {
      const userId = await ctx.newUser('int');
      const vault = ctx.asUser(userId);
      const info = await vault.integrations.create({
        provider: 'slack',
        name: 'Sales workspace',
        config: { channel: '#leads', notify: true },
        secrets: { webhookSecret: 'whsec_1', clientSecret: 'cs_2' },
      });
      expect(info).toMatchObject({
        userId,
        provider: 'slack',
        name: 'Sales workspace',
        status: 'pending',
        config: { channel: '#leads', notify: true },
        hasSecrets: true,
        lastError: null,
        lastSyncedAt: null,
      });
      expect(info).not.toHaveProperty('encryptedSecrets');
      expect(await vault.integrations.list()).toEqual([info]);
      expect(await vault.integrations.find(info.id)).toEqual(info);
      expect(await vault.integrations.getSecrets(info.id)).toEqual({
        webhookSecret: 'whsec_1',
        clientSecret: 'cs_2',
      });
    });

    it('stores no ciphertext when there are no secrets', async () => {
      const userId = await ctx.newUser('int-plain');
      const vault = ctx.asUser(userId);
      const info = await vault.integrations.create({ provider: 'n8n', name: 'wf' });
      expect(info).toMatchObject({ hasSecrets: false, config: {} });
      expect(await vault.integrations.getSecrets(info.id)).toEqual({});
      const [row] = await ctx.raw('integrations', { column: 'id', value: info.id });
      expect(row!.encrypted_secrets).toBeNull();
    });

    it('updates status, config and secrets; removes', async () => {
      const userId = await ctx.newUser('int-update');
      const vault = ctx.asUser(userId);
      const info = await vault.integrations.create({
        provider: 'hubspot',
        name: 'crm',
        secrets: { apiKey: 'old' },
      });
      const synced = new Date('2026-01-02T03:04:05.678Z');
      const failed = await vault.integrations.updateStatus(info.id, 'error', {
        lastError: 'HTTP 401',
      });
      expect(failed).toMatchObject({ status: 'error', lastError: 'HTTP 401' });
      const connected = await vault.integrations.updateStatus(info.id, 'connected', {
        lastError: null,
        lastSyncedAt: synced,
      });
      expect(connected).toMatchObject({
        status: 'connected',
        lastError: null,
        lastSyncedAt: synced,
      });
      const kept = await vault.integrations.updateStatus(info.id, 'disconnected');
      expect(kept).toMatchObject({ status: 'disconnected', lastSyncedAt: synced });

      const configured = await vault.integrations.updateConfig(info.id, { portal: 42 });
      expect(configured.config).toEqual({ portal: 42 });

      await vault.integrations.updateSecrets(info.id, { apiKey: 'new', extra: 'e' });
      expect(await vault.integrations.getSecrets(info.id)).toEqual({ apiKey: 'new', extra: 'e' });
      const cleared = await vault.integrations.updateSecrets(info.id, {});
      expect(cleared.hasSecrets).toBe(false);
      expect(await vault.integrations.getSecrets(info.id)).toEqual({});

      await vault.integrations.remove(info.id);
      expect(await vault.integrations.find(info.id)).toBeNull();
      await expect(vault.integrations.remove(info.id)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('lets a service read, update and remove any integration by id', async () => {
      const userId = await ctx.newUser('int-service');
      const info = await ctx
        .asUser(userId)
        .integrations.create({ provider: 'p', name: 'svc', secrets: { a: '1' } });
      const service = ctx.asService();
      expect(await service.integrations.find(info.id)).toEqual(info);
      expect(await service.integrations.getSecrets(info.id)).toEqual({ a: '1' });
      // Without naming the owner: the new ciphertext is bound to the row's owner.
      await service.integrations.updateSecrets(info.id, { b: '2' });
      expect(await ctx.asUser(userId).integrations.getSecrets(info.id)).toEqual({ b: '2' });
      const connected = await service.integrations.updateStatus(info.id, 'connected');
      expect(connected).toMatchObject({ id: info.id, status: 'connected', hasSecrets: true });
      await service.integrations.remove(info.id);
      expect(await ctx.asUser(userId).integrations.find(info.id)).toBeNull();
      await expect(service.integrations.updateSecrets(info.id, { c: '3' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
    });

    it('refuses a second integration with the same provider and name', async () => {
      const userId = await ctx.newUser('int-dup');
      const vault = ctx.asUser(userId);
      await vault.integrations.create({ provider: 'slack', name: 'one' });
      const error = await vault.integrations
        .create({ provider: 'slack', name: 'one' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UniqueViolationError);
      expect((error as UniqueViolationError).constraint).toBe(
        'integrations_user_provider_name_unique',
      );
      expect(await vault.integrations.list()).toHaveLength(1);
      // Another user may use the same provider and name.
      const other = await ctx.newUser('int-dup-2');
      await expect(
        ctx.asUser(other).integrations.create({ provider: 'slack', name: 'one' }),
      ).resolves.toMatchObject({ userId: other });
    });
  });
}
