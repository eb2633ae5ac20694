import { randomBytes, randomUUID } from 'node:crypto';
import {
  type BuildContext,
  type DomainContext,
  found,
  publicColumns,
  requireService,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { mask, type RotationResult } from '@exora/crypto';
import { and, asc, eq, isNull, type Placeholder } from 'drizzle-orm';
import { type ApiKeyRow, apiKeys } from '../schema/api-keys.ts';
import {
  ownerId,
  ownerParam,
  ownOrAny,
  requireInput,
  requireJsonObject,
  requireSecret,
} from './internal.ts';
import { type RotateEncryptionOptions, rotateEncryption } from './rotation.ts';

/** Bounds on a key given to `create` (and on a presented key worth looking up). */
export const API_KEY_MIN_LENGTH = 8;
export const API_KEY_MAX_LENGTH = 1024;

/** A key without its ciphertext or hash: name, provider, mask, metadata, state. */
export type ApiKeyInfo = Omit<ApiKeyRow, 'encryptedKey' | 'keyHash'>;

export interface CreateApiKeyInput {
  name: string;
  /** e.g. `openai`, `vanchin`, `exora` for the platform's own keys. */
  provider: string;
  /** The key to store. Left out: a new random `exo_...` key is generated. */
  key?: string;
  metadata?: Record<string, unknown>;
  /** The owner; a service must name one (platform keys: `createPlatformKey`). */
  userId?: string;
}

/** What `create` returns: the stored key's info and its plaintext, returned this once. */
export interface CreatedApiKey {
  apiKey: ApiKeyInfo;
  plaintext: string;
}

/** A new platform key: `exo_` and 32 random bytes in base64url (47 characters). */
export function generateApiKey(): string {
  return `exo_${randomBytes(32).toString('base64url')}`;
}

/** Every public column but the blind index (it finds a key by its plaintext: kept inside). */
function info(t: typeof apiKeys.pg) {
  const { keyHash: _hash, ...rest } = publicColumns(t, apiKeys);
  return rest;
}

const KEY_PARAMS = ['id', 'name', 'provider', 'key', 'keyHash', 'maskedKey', 'metadata'] as const;
type KeyParam = (typeof KEY_PARAMS)[number];

/**
 * The insert of a key owned by `userId`. The id is chosen by the caller: the key's ciphertext is
 * bound to it and to the owner.
 */
const insertKeyAs = ({ db, t, $ }: BuildContext<typeof apiKeys, KeyParam>, userId: Placeholder) =>
  db
    .insert(t)
    .values({
      id: $.id,
      userId,
      name: $.name,
      provider: $.provider,
      encryptedKey: $.key,
      keyHash: $.keyHash,
      maskedKey: $.maskedKey,
      metadata: $.metadata,
    })
    .returning(info(t));

const insertKey = statement.one('apiKeys.create', apiKeys, KEY_PARAMS, (q) =>
  insertKeyAs(q, q.owner),
);

/** A platform key has no owner: `userId` is null, and its ciphertext is bound to that. */
const insertPlatformKey = statement.one(
  'apiKeys.createPlatformKey',
  apiKeys,
  [...KEY_PARAMS, 'userId'],
  (q) => insertKeyAs(q, q.$.userId),
  { serviceOnly: true },
);

/** The active key with this blind index, recording the use: one statement. */
const useKey = statement.maybe(
  'apiKeys.findByPlaintext',
  apiKeys,
  ['keyHash', 'now'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ lastUsedAt: $.bind(t.lastUsedAt, 'now'), updatedAt: $.bind(t.updatedAt, 'now') })
      .where(and(eq(t.keyHash, $.keyHash), eq(t.active, true)))
      .returning(info(t)),
  { serviceOnly: true },
);

const listOwn = statement.many(
  'apiKeys.listMasked',
  apiKeys,
  [],
  ({ db, t, owned }) => db.select(info(t)).from(t).where(owned()).orderBy(asc(t.name)),
  { stale: true },
);

const listPlatform = statement.many(
  'apiKeys.listPlatformKeys',
  apiKeys,
  [],
  ({ db, t }) => db.select(info(t)).from(t).where(isNull(t.userId)).orderBy(asc(t.name)),
  { serviceOnly: true },
);

// `userId` is selected: the ciphertext is bound to the owner (null for a platform key).
const activeKey = ownOrAny('apiKeys.reveal', ({ name, mine, options }) =>
  statement.maybe(
    name,
    apiKeys,
    ['id'],
    ({ db, t, $, owned }) =>
      db
        .select({ id: t.id, userId: t.userId, key: t.encryptedKey })
        .from(t)
        .where(and(eq(t.id, $.id), eq(t.active, true), mine(owned))),
    options,
  ),
);

const deactivateKey = ownOrAny('apiKeys.deactivate', ({ name, mine, options }) =>
  statement.maybe(
    name,
    apiKeys,
    ['id', 'now'],
    ({ db, t, $, owned }) =>
      db
        .update(t)
        .set({ active: false, updatedAt: $.bind(t.updatedAt, 'now') })
        .where(and(eq(t.id, $.id), mine(owned)))
        .returning(info(t)),
    options,
  ),
);

/**
 * Per-user provider keys and named platform keys (`userId` null, only
 * from a service context, through `createPlatformKey` / `listPlatformKeys`). The key is stored
 * three ways: its ciphertext (bound to the row), an HMAC blind index to find it by plaintext,
 * and a mask for display. Deactivated keys are kept (their hash still blocks storing the same
 * key again) but are never found by plaintext or revealed; there is no reactivation.
 */
export function createApiKeysRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const hashKey = (key: string) => crypto.blindIndex.hash(key, { normalize: 'none' });

  /** The checked input and everything stored about the key. */
  const validate = (input: Omit<CreateApiKeyInput, 'userId'>) => {
    const given = requireInput(input);
    const name = requireText(given.name, 'name', { max: 200 });
    const provider = requireText(given.provider, 'provider', { max: 100 });
    const key =
      given.key === undefined
        ? generateApiKey()
        : requireSecret(given.key, 'key', {
            min: API_KEY_MIN_LENGTH,
            max: API_KEY_MAX_LENGTH,
            noWhitespace: true,
          });
    const metadata =
      given.metadata === undefined ? {} : requireJsonObject(given.metadata, 'metadata').value;
    const keyHash = hashKey(key);
    return { id: randomUUID(), name, provider, key, keyHash, maskedKey: mask(key), metadata };
  };

  return {
    /**
     * Stores a key of the user (a service names `input.userId`). A duplicate name for the same
     * owner, or a key already stored anywhere, is the core's `UniqueViolationError`
     * (`api_keys_user_name_unique`, `api_keys_key_hash_unique`).
     */
    async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
      const values = validate(input);
      const params = { owner: ownerId(input.userId), ...values };
      return { apiKey: (await run(ctx, insertKey, params)) as ApiKeyInfo, plaintext: values.key };
    },

    /** Stores a platform-wide key (a named key with no owner). Service only. */
    async createPlatformKey(input: Omit<CreateApiKeyInput, 'userId'>): Promise<CreatedApiKey> {
      const values = validate(input);
      const apiKey = await run(ctx, insertPlatformKey, Object.assign({}, values, { userId: null }));
      return { apiKey: apiKey as ApiKeyInfo, plaintext: values.key };
    },

    /**
     * The active key whose plaintext is `presented` (user key or platform key), with its owner
     * in `userId`, and records the use in `lastUsedAt`; null for an unknown or deactivated key.
     * Found by the blind index in one prepared statement. Service only: an API gateway checks a
     * key before it knows the user.
     */
    async findByPlaintext(presented: string): Promise<ApiKeyInfo | null> {
      requireService(actor, 'apiKeys.findByPlaintext');
      if (typeof presented !== 'string') throw new ValidationError('key', 'must be a string');
      if (presented.length < API_KEY_MIN_LENGTH || presented.length > API_KEY_MAX_LENGTH) {
        return null;
      }
      const params = { keyHash: hashKey(presented), now: new Date() };
      return run(ctx, useKey, params) as Promise<ApiKeyInfo | null>;
    },

    /** The user's keys (active and not) by name: mask, provider, metadata, state; no secrets. */
    async listMasked(userId?: string): Promise<ApiKeyInfo[]> {
      return run(ctx, listOwn, ownerParam(userId)) as Promise<ApiKeyInfo[]>;
    },

    /** The platform-wide keys, masked, by name. Service only. */
    async listPlatformKeys(): Promise<ApiKeyInfo[]> {
      return run(ctx, listPlatform, {}) as Promise<ApiKeyInfo[]>;
    },

    /**
     * The plaintext of one of the user's active keys (a service: any active key, platform keys
     * included). `NotFoundError` for a key the actor may not see or a deactivated one.
     */
    async reveal(keyId: string): Promise<string> {
      const params = { id: requireUuid(keyId, 'id') };
      return (await found('api key', run(ctx, activeKey(actor), params))).key;
    },

    /** Deactivates a key of the user (a service: any key). `NotFoundError` when there is none. */
    async deactivate(keyId: string): Promise<ApiKeyInfo> {
      const params = { id: requireUuid(keyId, 'id'), now: new Date() };
      return found('api key', run(ctx, deactivateKey(actor), params)) as Promise<ApiKeyInfo>;
    },

    /**
     * Re-encrypts every key (user and platform keys, active or not) not under the active key, in
     * id order, batch by batch, each write a compare-and-set. Service only.
     */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateEncryption(ctx, apiKeys, options);
    },
  };
}

export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>;
