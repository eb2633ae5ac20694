import { randomBytes, randomUUID } from 'node:crypto';
import {
  actAs,
  NotFoundError,
  nowSql,
  ownedBy,
  requireService,
  requireText,
  requireUuid,
  subjectOf,
  ValidationError,
} from '@exora/core';
import { mask, type RotationResult } from '@exora/crypto';
import type { DomainContext } from '@exora/identity';
import { and, asc, eq, getTableColumns, isNull, sql } from 'drizzle-orm';
import { type ApiKeyRow, apiKeys } from '../schema/api-keys.ts';
import {
  fieldContext,
  type RotateEncryptionOptions,
  requireJsonObject,
  requireSecret,
  rotateTable,
} from './internal.ts';

const TABLE = 'api_keys';
const COLUMN = 'encrypted_key';

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

function infoColumns(t: typeof apiKeys.pg) {
  const { encryptedKey: _k, keyHash: _h, ...rest } = getTableColumns(t);
  return rest;
}

/**
 * Seed 003's per-user provider keys and seed 004's named platform keys (`userId` null, only
 * from a service context, through `createPlatformKey` / `listPlatformKeys`). The key is stored
 * three ways: its ciphertext (bound to the row), an HMAC blind index to find it by plaintext,
 * and a mask for display. Deactivated keys are kept (their hash still blocks storing the same
 * key again) but are never found by plaintext or revealed; there is no reactivation.
 */
export function createApiKeysRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const { cipher } = crypto;
  const hashKey = (key: string) => crypto.blindIndex.hash(key, { normalize: 'none' });

  const validate = (input: Omit<CreateApiKeyInput, 'userId'>) => {
    if (typeof input !== 'object' || input === null) {
      throw new ValidationError('input', 'must be an object');
    }
    const name = requireText(input.name, 'name', { max: 200 });
    const provider = requireText(input.provider, 'provider', { max: 100 });
    const plaintext =
      input.key === undefined
        ? generateApiKey()
        : requireSecret(input.key, 'key', {
            min: API_KEY_MIN_LENGTH,
            max: API_KEY_MAX_LENGTH,
            noWhitespace: true,
          });
    const metadata =
      input.metadata === undefined ? {} : requireJsonObject(input.metadata, 'metadata').value;
    return { name, provider, plaintext, metadata };
  };

  const insert = async (
    owner: string | null,
    v: ReturnType<typeof validate>,
  ): Promise<CreatedApiKey> => {
    const id = randomUUID();
    const values = {
      id,
      userId: owner,
      name: v.name,
      provider: v.provider,
      encryptedKey: cipher.encrypt(v.plaintext, fieldContext(TABLE, COLUMN, id)),
      keyHash: hashKey(v.plaintext),
      maskedKey: mask(v.plaintext),
      metadata: v.metadata,
    };
    const apiKey = await actAs(ctx.exec, actor, async (tx) => {
      const t = tx.table(apiKeys);
      const [row] = await tx.db.insert(t).values(values).returning(infoColumns(t));
      return row!;
    });
    return { apiKey, plaintext: v.plaintext };
  };

  return {
    /**
     * Stores a key of the user (a service names `input.userId`). A duplicate name for the same
     * owner, or a key already stored anywhere, is the core's `UniqueViolationError`
     * (`api_keys_user_name_unique`, `api_keys_key_hash_unique`).
     */
    async create(input: CreateApiKeyInput): Promise<CreatedApiKey> {
      const values = validate(input);
      return insert(subjectOf(actor, input.userId), values);
    },

    /** Stores a platform-wide key (seed 004's named `apiKeys`, no owner). Service only. */
    async createPlatformKey(input: Omit<CreateApiKeyInput, 'userId'>): Promise<CreatedApiKey> {
      requireService(actor, 'apiKeys.createPlatformKey');
      return insert(null, validate(input));
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
      const keyHash = hashKey(presented);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(apiKeys);
        const now = tx.dialect === 'postgres' ? nowSql.pg : nowSql.sqlite;
        const lookup = tx.prepared('vault.apiKeyByHash', (db) =>
          db
            .update(t)
            .set({ lastUsedAt: now })
            .where(and(eq(t.keyHash, sql.placeholder('keyHash')), eq(t.active, true)))
            .returning(infoColumns(t))
            .prepare('vault_api_key_by_hash'),
        );
        const [row] = await lookup.execute({ keyHash });
        return row ?? null;
      });
    },

    /** The user's keys (active and not) by name: mask, provider, metadata, state; no secrets. */
    async listMasked(userId?: string): Promise<ApiKeyInfo[]> {
      const who = subjectOf(actor, userId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(apiKeys);
        return tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)))
          .orderBy(asc(t.name));
      });
    },

    /** The platform-wide keys, masked, by name. Service only. */
    async listPlatformKeys(): Promise<ApiKeyInfo[]> {
      requireService(actor, 'apiKeys.listPlatformKeys');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(apiKeys);
        return tx.db.select(infoColumns(t)).from(t).where(isNull(t.userId)).orderBy(asc(t.name));
      });
    },

    /**
     * The plaintext of one of the user's active keys (a service: any active key, platform keys
     * included). `NotFoundError` for a key the actor may not see or a deactivated one.
     */
    async reveal(keyId: string): Promise<string> {
      const id = requireUuid(keyId, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(apiKeys);
        const [row] = await tx.db
          .select({ id: t.id, encryptedKey: t.encryptedKey })
          .from(t)
          .where(and(eq(t.id, id), eq(t.active, true), ownedBy(actor, t.userId)));
        if (!row) throw new NotFoundError('api key');
        return cipher.decrypt(row.encryptedKey, fieldContext(TABLE, COLUMN, row.id));
      });
    },

    /** Deactivates a key of the user (a service: any key). `NotFoundError` when there is none. */
    async deactivate(keyId: string): Promise<ApiKeyInfo> {
      const id = requireUuid(keyId, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(apiKeys);
        const [row] = await tx.db
          .update(t)
          .set({ active: false })
          .where(and(eq(t.id, id), ownedBy(actor, t.userId)))
          .returning(infoColumns(t));
        if (!row) throw new NotFoundError('api key');
        return row;
      });
    },

    /**
     * Re-encrypts every `encrypted_key` (user and platform keys, active or not) not under the
     * active key, in id order, batch by batch, each write a compare-and-set. Service only.
     */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateTable(
        ctx,
        'apiKeys.rotateEncryption',
        apiKeys,
        { encrypted_key: 'encryptedKey' },
        options,
      );
    },
  };
}

export type ApiKeysRepository = ReturnType<typeof createApiKeysRepository>;
