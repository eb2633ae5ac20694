import { randomUUID } from 'node:crypto';
import {
  type DomainContext,
  found,
  NotFoundError,
  optionalDate,
  optionalText,
  publicColumns,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import type { RotationResult } from '@exora/crypto';
import { and, asc, type Column, eq, type SQL, sql } from 'drizzle-orm';
import { INTEGRATION_STATUSES, type IntegrationRow, integrations } from '../schema/integrations.ts';
import {
  ownerParam,
  ownOrAny,
  requireInput,
  requireJsonObject,
  requireSecret,
  writeAsRowOwner,
} from './internal.ts';
import { type RotateEncryptionOptions, rotateEncryption } from './rotation.ts';

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

/** Every public column; whether secrets are stored is `hasSecrets`. */
function info(t: typeof integrations.pg) {
  const { hasEncryptedSecrets, ...rest } = publicColumns(t, integrations);
  return Object.assign({}, rest, {
    hasSecrets: hasEncryptedSecrets as NonNullable<typeof hasEncryptedSecrets>,
  });
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

/** In an update's `set`: the stored value when `flag` is true, else `value`. */
const keepIf = (column: Column, flag: unknown, value: SQL) =>
  sql`case when ${flag} then ${column} else ${value} end`;

// The id is chosen here: the secrets' ciphertext is bound to it (and to the owner).
const insertIntegration = statement.one(
  'integrations.create',
  integrations,
  ['id', 'provider', 'name', 'config', 'secrets'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        id: $.id,
        userId: owner,
        provider: $.provider,
        name: $.name,
        config: $.config,
        encryptedSecrets: $.secrets,
      })
      .returning(info(t)),
);

const listIntegrations = statement.many(
  'integrations.list',
  integrations,
  [],
  ({ db, t, owned }) =>
    db.select(info(t)).from(t).where(owned()).orderBy(asc(t.provider), asc(t.name)),
  { stale: true },
);

const findIntegration = ownOrAny('integrations.find', ({ name, mine, options }) =>
  statement.maybe(
    name,
    integrations,
    ['id'],
    ({ db, t, $, owned }) =>
      db
        .select(info(t))
        .from(t)
        .where(and(eq(t.id, $.id), mine(owned))),
    options,
  ),
);

// `userId` is selected: the ciphertext is bound to the row's id and owner.
const findSecrets = ownOrAny('integrations.getSecrets', ({ name, mine, options }) =>
  statement.maybe(
    name,
    integrations,
    ['id'],
    ({ db, t, $, owned }) =>
      db
        .select({ id: t.id, userId: t.userId, secrets: t.encryptedSecrets })
        .from(t)
        .where(and(eq(t.id, $.id), mine(owned))),
    options,
  ),
);

/** `lastError` and `lastSyncedAt` are kept when the call leaves them out (`keep*`). */
const setStatus = ownOrAny('integrations.updateStatus', ({ name, mine, options }) =>
  statement.maybe(
    name,
    integrations,
    ['id', 'status', 'lastError', 'keepLastError', 'lastSyncedAt', 'keepLastSyncedAt', 'now'],
    ({ db, t, $, owned }) =>
      db
        .update(t)
        .set({
          status: $.bind(t.status, 'status'),
          lastError: keepIf(t.lastError, $.keepLastError, $.bind(t.lastError, 'lastError')),
          lastSyncedAt: keepIf(
            t.lastSyncedAt,
            $.keepLastSyncedAt,
            $.bind(t.lastSyncedAt, 'lastSyncedAt'),
          ),
          updatedAt: $.bind(t.updatedAt, 'now'),
        })
        .where(and(eq(t.id, $.id), mine(owned)))
        .returning(info(t)),
    options,
  ),
);

const setConfig = ownOrAny('integrations.updateConfig', ({ name, mine, options }) =>
  statement.maybe(
    name,
    integrations,
    ['id', 'config', 'now'],
    ({ db, t, $, owned }) =>
      db
        .update(t)
        .set({ config: $.bind(t.config, 'config'), updatedAt: $.bind(t.updatedAt, 'now') })
        .where(and(eq(t.id, $.id), mine(owned)))
        .returning(info(t)),
    options,
  ),
);

const setSecrets = statement.maybe(
  'integrations.updateSecrets',
  integrations,
  ['id', 'secrets', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        encryptedSecrets: $.bind(t.encryptedSecrets, 'secrets'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), owned()))
      .returning(info(t)),
);

const removeIntegration = ownOrAny('integrations.remove', ({ name, mine, options }) =>
  statement.count(
    name,
    integrations,
    ['id'],
    ({ db, t, $, owned }) => db.delete(t).where(and(eq(t.id, $.id), mine(owned))),
    options,
  ),
);

/**
 * Integrations: a user's connection to an outside service, one per provider and
 * name. Settings (`config`) are readable; secrets are one encrypted JSON object, read only
 * through `getSecrets`.
 */
export function createIntegrationsRepository(ctx: DomainContext) {
  const { actor } = ctx;
  const id = (value: unknown) => requireUuid(value, 'id');

  return {
    /**
     * Adds an integration for the user (a service names `userId`), status `pending`. A second
     * one with the same provider and name is the core's `UniqueViolationError`.
     */
    async create(input: CreateIntegrationInput, userId?: string): Promise<IntegrationInfo> {
      const owner = ownerParam(userId);
      const given = requireInput(input);
      const values = {
        id: randomUUID(),
        provider: requireText(given.provider, 'provider', { max: 100 }),
        name: requireText(given.name, 'name', { max: 200 }),
        config: given.config === undefined ? {} : requireJsonObject(given.config, 'config').value,
        secrets: given.secrets === undefined ? null : validateSecrets(given.secrets),
      };
      return run(
        ctx,
        insertIntegration,
        Object.assign({}, owner, values),
      ) as Promise<IntegrationInfo>;
    },

    /** The user's integrations by provider and name, without secrets. */
    async list(userId?: string): Promise<IntegrationInfo[]> {
      return run(ctx, listIntegrations, ownerParam(userId)) as Promise<IntegrationInfo[]>;
    },

    /** One integration of the actor's (any, for a service) without secrets, or null. */
    async find(integrationId: string): Promise<IntegrationInfo | null> {
      const params = { id: id(integrationId) };
      return run(ctx, findIntegration(actor), params) as Promise<IntegrationInfo | null>;
    },

    /**
     * The decrypted secrets of one integration of the actor's (`{}` when it has none), or null
     * when there is no such integration they may see.
     */
    async getSecrets(integrationId: string): Promise<Record<string, string> | null> {
      const row = await run(ctx, findSecrets(actor), { id: id(integrationId) });
      return row && (row.secrets === null ? {} : JSON.parse(row.secrets));
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
      const given = requireInput(details, 'details');
      const lastError = optionalText(given.lastError, 'lastError', { max: 5000 });
      const lastSyncedAt = optionalDate(given.lastSyncedAt, 'lastSyncedAt');
      const params = {
        id: id(integrationId),
        status: requireOneOf(status, 'status', INTEGRATION_STATUSES),
        lastError: lastError ?? null,
        keepLastError: lastError === undefined,
        lastSyncedAt: lastSyncedAt ?? null,
        keepLastSyncedAt: lastSyncedAt === undefined,
        now: new Date(),
      };
      return found('integration', run(ctx, setStatus(actor), params)) as Promise<IntegrationInfo>;
    },

    /** Replaces the readable settings. */
    async updateConfig(
      integrationId: string,
      config: Record<string, unknown>,
    ): Promise<IntegrationInfo> {
      const params = {
        id: id(integrationId),
        config: requireJsonObject(config, 'config').value,
        now: new Date(),
      };
      return found('integration', run(ctx, setConfig(actor), params)) as Promise<IntegrationInfo>;
    },

    /** Replaces the secrets (an empty object removes them), encrypted for this row. */
    async updateSecrets(
      integrationId: string,
      secrets: Record<string, string>,
    ): Promise<IntegrationInfo> {
      const params = { id: id(integrationId), secrets: validateSecrets(secrets), now: new Date() };
      return found(
        'integration',
        writeAsRowOwner(ctx, integrations, setSecrets, params),
      ) as Promise<IntegrationInfo>;
    },

    /** Deletes an integration of the actor's. `NotFoundError` when there is none. */
    async remove(integrationId: string): Promise<void> {
      const removed = await run(ctx, removeIntegration(actor), { id: id(integrationId) });
      if (removed === 0) throw new NotFoundError('integration');
    },

    /** Re-encrypts every integration's secrets not under the active key. Service only. */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateEncryption(ctx, integrations, options);
    },
  };
}

export type IntegrationsRepository = ReturnType<typeof createIntegrationsRepository>;
