import { randomUUID } from 'node:crypto';
import {
  type DomainContext,
  found,
  optionalDate,
  optionalText,
  publicColumns,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import type { RotationResult } from '@exora/crypto';
import { and, desc, eq } from 'drizzle-orm';
import { type CredentialRow, credentials } from '../schema/credentials.ts';
import {
  optionalSecret,
  ownerParam,
  ownOrAny,
  requireInput,
  requireJsonObject,
  requireSecret,
  writeAsRowOwner,
} from './internal.ts';
import { type RotateEncryptionOptions, rotateEncryption } from './rotation.ts';

/** A credential without its secrets. */
export type CredentialInfo = Omit<CredentialRow, 'encryptedData' | 'refreshToken'> & {
  hasRefreshToken: boolean;
};

/** An active credential with its data and refresh token decrypted. */
export type CredentialDecrypted = CredentialInfo & {
  /** The JSON object given to `save` (after a JSON round trip: dates come back as strings). */
  data: Record<string, unknown>;
  refreshToken: string | null;
};

export interface SaveCredentialInput {
  /** e.g. `vinsolutions`. */
  platform: string;
  label?: string | null;
  /** The login (username, password, API secret...): JSON-serialised, then encrypted. */
  data: Record<string, unknown>;
  refreshToken?: string | null;
  refreshTokenExpiry?: Date | null;
}

const info = (t: typeof credentials.pg) => publicColumns(t, credentials);

// The id is chosen here: the ciphertexts are bound to it and to the owner.
const insertCredential = statement.one(
  'credentials.save',
  credentials,
  ['id', 'platform', 'label', 'data', 'refreshToken', 'refreshTokenExpiry'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        id: $.id,
        userId: owner,
        platform: $.platform,
        label: $.label,
        encryptedData: $.data,
        refreshToken: $.refreshToken,
        refreshTokenExpiry: $.refreshTokenExpiry,
      })
      .returning(info(t)),
);

const listCredentials = statement.many(
  'credentials.list',
  credentials,
  [],
  ({ db, t, owned }) =>
    db.select(info(t)).from(t).where(owned()).orderBy(desc(t.createdAt), desc(t.id)),
  { stale: true },
);

const activeDecrypted = ownOrAny('credentials.getDecrypted', ({ name, mine, options }) =>
  statement.maybe(
    name,
    credentials,
    ['id'],
    ({ db, t, $, owned }) =>
      db
        .select({ ...info(t), data: t.encryptedData, refreshToken: t.refreshToken })
        .from(t)
        .where(and(eq(t.id, $.id), eq(t.active, true), mine(owned))),
    options,
  ),
);

const deactivateCredential = ownOrAny('credentials.deactivate', ({ name, mine, options }) =>
  statement.maybe(
    name,
    credentials,
    ['id', 'now'],
    ({ db, t, $, owned }) =>
      db
        .update(t)
        .set({
          active: false,
          refreshToken: null,
          refreshTokenExpiry: null,
          updatedAt: $.bind(t.updatedAt, 'now'),
        })
        .where(and(eq(t.id, $.id), mine(owned)))
        .returning(info(t)),
    options,
  ),
);

const setRefreshToken = statement.maybe(
  'credentials.updateRefreshToken',
  credentials,
  ['id', 'refreshToken', 'refreshTokenExpiry', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        refreshToken: $.bind(t.refreshToken, 'refreshToken'),
        refreshTokenExpiry: $.bind(t.refreshTokenExpiry, 'refreshTokenExpiry'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), eq(t.active, true), owned()))
      .returning(info(t)),
);

/**
 * Platform credentials. A user may hold several per platform (one per label);
 * `deactivate` keeps the row for the record but drops its refresh token, and a deactivated
 * credential is no longer decrypted or refreshed.
 */
export function createCredentialsRepository(ctx: DomainContext) {
  const { actor } = ctx;

  return {
    /** Stores a new credential for the user (a service names `userId`); returns it without secrets. */
    async save(input: SaveCredentialInput, userId?: string): Promise<CredentialInfo> {
      const owner = ownerParam(userId);
      const given = requireInput(input);
      const platform = requireText(given.platform, 'platform', { max: 100 });
      const label = optionalText(given.label, 'label', { max: 200 }) ?? null;
      const data = requireJsonObject(given.data, 'data').json;
      const refreshToken = optionalSecret(given.refreshToken, 'refreshToken') ?? null;
      const refreshTokenExpiry =
        optionalDate(given.refreshTokenExpiry, 'refreshTokenExpiry') ?? null;
      if (refreshTokenExpiry !== null && refreshToken === null) {
        throw new ValidationError('refreshTokenExpiry', 'needs a refreshToken');
      }
      const values = { id: randomUUID(), platform, label, data, refreshToken, refreshTokenExpiry };
      return run(
        ctx,
        insertCredential,
        Object.assign({}, owner, values),
      ) as Promise<CredentialInfo>;
    },

    /**
     * An active credential of the actor (any, for a service) with its secrets decrypted; null
     * when there is none the actor may see, or it was deactivated.
     */
    async getDecrypted(credentialId: string): Promise<CredentialDecrypted | null> {
      const row = await run(ctx, activeDecrypted(actor), { id: requireUuid(credentialId, 'id') });
      // spread-ok: `data` replaces the row's own key.
      return row && ({ ...row, data: JSON.parse(row.data as string) } as CredentialDecrypted);
    },

    /** The user's credentials (active and not), newest first, without secrets. */
    async list(userId?: string): Promise<CredentialInfo[]> {
      return run(ctx, listCredentials, ownerParam(userId)) as Promise<CredentialInfo[]>;
    },

    /**
     * Marks the credential inactive and drops its refresh token. Throws `NotFoundError` when the
     * actor has no such credential; deactivating an inactive one is a no-op.
     */
    async deactivate(credentialId: string): Promise<CredentialInfo> {
      const params = { id: requireUuid(credentialId, 'id'), now: new Date() };
      return found(
        'credential',
        run(ctx, deactivateCredential(actor), params),
      ) as Promise<CredentialInfo>;
    },

    /** Replaces the refresh token of an active credential (after the platform issued a new one). */
    async updateRefreshToken(
      credentialId: string,
      input: { refreshToken: string; refreshTokenExpiry?: Date | null },
    ): Promise<CredentialInfo> {
      const id = requireUuid(credentialId, 'id');
      const given = requireInput(input);
      const params = {
        id,
        refreshToken: requireSecret(given.refreshToken, 'refreshToken'),
        refreshTokenExpiry: optionalDate(given.refreshTokenExpiry, 'refreshTokenExpiry') ?? null,
        now: new Date(),
      };
      return found(
        'credential',
        writeAsRowOwner(ctx, credentials, setRefreshToken, params),
      ) as Promise<CredentialInfo>;
    },

    /** Re-encrypts the data and refresh token of every row under the active key. Service only. */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateEncryption(ctx, credentials, options);
    },
  };
}

export type CredentialsRepository = ReturnType<typeof createCredentialsRepository>;
