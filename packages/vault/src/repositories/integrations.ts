import { randomUUID } from 'node:crypto';
import {
  actAs,
  NotFoundError,
  optionalDate,
  optionalText,
  ownedBy,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  subjectOf,
  ValidationError,
} from '@exora/core';
import type { RotationResult } from '@exora/crypto';
import type { DomainContext } from '@exora/identity';
import { and, asc, eq, getTableColumns, sql } from 'drizzle-orm';
import { INTEGRATION_STATUSES, type IntegrationRow, integrations } from '../schema/integrations.ts';
import {
  fieldContext,
  type RotateEncryptionOptions,
  requireJsonObject,
  requireSecret,
  rotateTable,
} from './internal.ts';

const TABLE = 'integrations';
const COLUMN = 'encrypted_secrets';

export type IntegrationStatus = (typeof INTEGRATION_STATUSES)[number];

/** An integration without its secrets. */
export type IntegrationInfo = Omit<IntegrationRow, 'encryptedSecrets'> & {
  hasSecrets: boolean;
};

export interface CreateIntegrationInput {
  provider: string;
  name: string;
  /** Readable settings (stored as JSON, not encrypted). */
  config?: Record<string, unknown>;
  /** Webhook secrets, client secrets...: one ciphertext of the JSON object. */
  secrets?: Record<string, string>;
}

function infoColumns(t: typeof integrations.pg) {
  const { encryptedSecrets: _s, ...rest } = getTableColumns(t);
  return {
    ...rest,
    hasSecrets: sql<boolean>`(${t.encryptedSecrets} is not null)`.mapWith(Boolean),
  };
}

/** A string-valued object; its JSON text, or null when it is empty (nothing to encrypt). */
function validateSecrets(value: unknown): string | null {
  const object = requirePlainObject(value, 'secrets');
  const entries = Object.entries(object);
  if (entries.length > 100) throw new ValidationError('secrets', 'must have at most 100 entries');
  for (const [key, secret] of entries) {
    if (key.trim() === '' || key.length > 100) {
      throw new ValidationError('secrets', 'keys must be 1 to 100 characters');
    }
    requireSecret(secret, `secrets.${key}`);
  }
  return entries.length === 0 ? null : requireJsonObject(object, 'secrets').json;
}

/**
 * Seed 000's integrations: a user's connection to an outside service, one per provider and
 * name. Settings (`config`) are readable; secrets are one encrypted JSON object, read only
 * through `getSecrets`.
 */
export function createIntegrationsRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const { cipher } = crypto;
  const encryptSecrets = (json: string | null, rowId: string) =>
    json === null ? null : cipher.encrypt(json, fieldContext(TABLE, COLUMN, rowId));

  /** Updates a row of the actor's; `NotFoundError` when there is none they may see. */
  const updateOwned = (id: string, set: Partial<typeof integrations.pg.$inferInsert>) =>
    actAs(ctx.exec, actor, async (tx) => {
      const t = tx.table(integrations);
      const [row] = await tx.db
        .update(t)
        .set(set)
        .where(and(eq(t.id, id), ownedBy(actor, t.userId)))
        .returning(infoColumns(t));
      if (!row) throw new NotFoundError('integration');
      return row;
    });

  return {
    /**
     * Adds an integration for the user (a service names `userId`), status `pending`. A second
     * one with the same provider and name is the core's `UniqueViolationError`.
     */
    async create(input: CreateIntegrationInput, userId?: string): Promise<IntegrationInfo> {
      const who = subjectOf(actor, userId);
      if (typeof input !== 'object' || input === null) {
        throw new ValidationError('input', 'must be an object');
      }
      const provider = requireText(input.provider, 'provider', { max: 100 });
      const name = requireText(input.name, 'name', { max: 200 });
      const config =
        input.config === undefined ? {} : requireJsonObject(input.config, 'config').value;
      const secrets = input.secrets === undefined ? null : validateSecrets(input.secrets);
      const id = randomUUID();
      const encryptedSecrets = encryptSecrets(secrets, id);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(integrations);
        const [row] = await tx.db
          .insert(t)
          .values({ id, userId: who, provider, name, config, encryptedSecrets })
          .returning(infoColumns(t));
        return row!;
      });
    },

    /** The user's integrations by provider and name, without secrets. */
    async list(userId?: string): Promise<IntegrationInfo[]> {
      const who = subjectOf(actor, userId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(integrations);
        return tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)))
          .orderBy(asc(t.provider), asc(t.name));
      });
    },

    /** One integration of the actor's (any, for a service) without secrets, or null. */
    async find(integrationId: string): Promise<IntegrationInfo | null> {
      const id = requireUuid(integrationId, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(integrations);
        const [row] = await tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(eq(t.id, id), ownedBy(actor, t.userId)));
        return row ?? null;
      });
    },

    /**
     * The decrypted secrets of one integration of the actor's (`{}` when it has none), or null
     * when there is no such integration they may see.
     */
    async getSecrets(integrationId: string): Promise<Record<string, string> | null> {
      const id = requireUuid(integrationId, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(integrations);
        const [row] = await tx.db
          .select({ id: t.id, encryptedSecrets: t.encryptedSecrets })
          .from(t)
          .where(and(eq(t.id, id), ownedBy(actor, t.userId)));
        if (!row) return null;
        if (row.encryptedSecrets === null) return {};
        const json = cipher.decrypt(row.encryptedSecrets, fieldContext(TABLE, COLUMN, row.id));
        return JSON.parse(json) as Record<string, string>;
      });
    },

    /**
     * Sets the status; `lastError` and `lastSyncedAt` are set when given (null clears) and kept
     * otherwise.
     */
    async updateStatus(
      integrationId: string,
      status: IntegrationStatus,
      details: { lastError?: string | null; lastSyncedAt?: Date | null } = {},
    ): Promise<IntegrationInfo> {
      const id = requireUuid(integrationId, 'id');
      const newStatus = requireOneOf(status, 'status', INTEGRATION_STATUSES);
      if (typeof details !== 'object' || details === null) {
        throw new ValidationError('details', 'must be an object');
      }
      const lastError = optionalText(details.lastError, 'lastError', { max: 5000 });
      const lastSyncedAt = optionalDate(details.lastSyncedAt, 'lastSyncedAt');
      return updateOwned(id, {
        status: newStatus,
        ...(lastError === undefined ? {} : { lastError }),
        ...(lastSyncedAt === undefined ? {} : { lastSyncedAt }),
      });
    },

    /** Replaces the readable settings. */
    async updateConfig(
      integrationId: string,
      config: Record<string, unknown>,
    ): Promise<IntegrationInfo> {
      const id = requireUuid(integrationId, 'id');
      const value = requireJsonObject(config, 'config').value;
      return updateOwned(id, { config: value });
    },

    /** Replaces the secrets (an empty object removes them), encrypted for this row. */
    async updateSecrets(
      integrationId: string,
      secrets: Record<string, string>,
    ): Promise<IntegrationInfo> {
      const id = requireUuid(integrationId, 'id');
      const encryptedSecrets = encryptSecrets(validateSecrets(secrets), id);
      return updateOwned(id, { encryptedSecrets });
    },

    /** Deletes an integration of the actor's. `NotFoundError` when there is none. */
    async remove(integrationId: string): Promise<void> {
      const id = requireUuid(integrationId, 'id');
      await actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(integrations);
        const rows = await tx.db
          .delete(t)
          .where(and(eq(t.id, id), ownedBy(actor, t.userId)))
          .returning({ id: t.id });
        if (rows.length === 0) throw new NotFoundError('integration');
      });
    },

    /** Re-encrypts every `encrypted_secrets` not under the active key. Service only. */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateTable(
        ctx,
        'integrations.rotateEncryption',
        integrations,
        { encrypted_secrets: 'encryptedSecrets' },
        options,
      );
    },
  };
}

export type IntegrationsRepository = ReturnType<typeof createIntegrationsRepository>;
