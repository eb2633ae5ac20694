import { randomUUID } from 'node:crypto';
import {
  actAs,
  NotFoundError,
  optionalDate,
  optionalText,
  ownedBy,
  requireText,
  requireUuid,
  subjectOf,
  ValidationError,
} from '@exora/core';
import type { RotationResult } from '@exora/crypto';
import type { DomainContext } from '@exora/identity';
import { and, desc, eq, getTableColumns, sql } from 'drizzle-orm';
import { type CredentialRow, credentials } from '../schema/credentials.ts';
import {
  fieldContext,
  optionalSecret,
  type RotateEncryptionOptions,
  requireJsonObject,
  requireSecret,
  rotateTable,
} from './internal.ts';

const TABLE = 'credentials';

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

function infoColumns(t: typeof credentials.pg) {
  const { encryptedData: _d, refreshToken: _r, ...rest } = getTableColumns(t);
  return {
    ...rest,
    hasRefreshToken: sql<boolean>`(${t.refreshToken} is not null)`.mapWith(Boolean),
  };
}

/**
 * Seed 004's platform credentials. A user may hold several per platform (one per label);
 * `deactivate` keeps the row for the record but drops its refresh token, and a deactivated
 * credential is no longer decrypted or refreshed.
 */
export function createCredentialsRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const { cipher } = crypto;
  const encrypt = (value: string, column: string, rowId: string) =>
    cipher.encrypt(value, fieldContext(TABLE, column, rowId));

  return {
    /** Stores a new credential for the user (a service names `userId`); returns it without secrets. */
    async save(input: SaveCredentialInput, userId?: string): Promise<CredentialInfo> {
      const who = subjectOf(actor, userId);
      if (typeof input !== 'object' || input === null) {
        throw new ValidationError('input', 'must be an object');
      }
      const platform = requireText(input.platform, 'platform', { max: 100 });
      const label = optionalText(input.label, 'label', { max: 200 }) ?? null;
      const data = requireJsonObject(input.data, 'data');
      const refreshToken = optionalSecret(input.refreshToken, 'refreshToken') ?? null;
      const refreshTokenExpiry =
        optionalDate(input.refreshTokenExpiry, 'refreshTokenExpiry') ?? null;
      if (refreshTokenExpiry !== null && refreshToken === null) {
        throw new ValidationError('refreshTokenExpiry', 'needs a refreshToken');
      }
      const id = randomUUID();
      const encryptedData = encrypt(data.json, 'encrypted_data', id);
      const encryptedRefresh =
        refreshToken === null ? null : encrypt(refreshToken, 'refresh_token', id);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(credentials);
        const [row] = await tx.db
          .insert(t)
          .values({
            id,
            userId: who,
            platform,
            label,
            encryptedData,
            refreshToken: encryptedRefresh,
            refreshTokenExpiry,
          })
          .returning(infoColumns(t));
        return row!;
      });
    },

    /**
     * An active credential of the actor (any, for a service) with its secrets decrypted; null
     * when there is none the actor may see, or it was deactivated.
     */
    async getDecrypted(credentialId: string): Promise<CredentialDecrypted | null> {
      const id = requireUuid(credentialId, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(credentials);
        const [row] = await tx.db
          .select({
            ...infoColumns(t),
            dataCiphertext: t.encryptedData,
            refreshTokenCiphertext: t.refreshToken,
          })
          .from(t)
          .where(and(eq(t.id, id), eq(t.active, true), ownedBy(actor, t.userId)));
        if (!row) return null;
        const { dataCiphertext, refreshTokenCiphertext, ...info } = row;
        const json = cipher.decrypt(dataCiphertext, fieldContext(TABLE, 'encrypted_data', row.id));
        return {
          ...info,
          data: JSON.parse(json) as Record<string, unknown>,
          refreshToken:
            refreshTokenCiphertext === null
              ? null
              : cipher.decrypt(
                  refreshTokenCiphertext,
                  fieldContext(TABLE, 'refresh_token', row.id),
                ),
        };
      });
    },

    /** The user's credentials (active and not), newest first, without secrets. */
    async list(userId?: string): Promise<CredentialInfo[]> {
      const who = subjectOf(actor, userId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(credentials);
        return tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)))
          .orderBy(desc(t.createdAt), desc(t.id));
      });
    },

    /**
     * Marks the credential inactive and drops its refresh token. Throws `NotFoundError` when the
     * actor has no such credential; deactivating an inactive one is a no-op.
     */
    async deactivate(credentialId: string): Promise<CredentialInfo> {
      const id = requireUuid(credentialId, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(credentials);
        const [row] = await tx.db
          .update(t)
          .set({ active: false, refreshToken: null, refreshTokenExpiry: null })
          .where(and(eq(t.id, id), ownedBy(actor, t.userId)))
          .returning(infoColumns(t));
        if (!row) throw new NotFoundError('credential');
        return row;
      });
    },

    /** Replaces the refresh token of an active credential (after the platform issued a new one). */
    async updateRefreshToken(
      credentialId: string,
      input: { refreshToken: string; refreshTokenExpiry?: Date | null },
    ): Promise<CredentialInfo> {
      const id = requireUuid(credentialId, 'id');
      if (typeof input !== 'object' || input === null) {
        throw new ValidationError('input', 'must be an object');
      }
      const refreshToken = requireSecret(input.refreshToken, 'refreshToken');
      const refreshTokenExpiry =
        optionalDate(input.refreshTokenExpiry, 'refreshTokenExpiry') ?? null;
      const ciphertext = encrypt(refreshToken, 'refresh_token', id);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(credentials);
        const [row] = await tx.db
          .update(t)
          .set({ refreshToken: ciphertext, refreshTokenExpiry })
          .where(and(eq(t.id, id), eq(t.active, true), ownedBy(actor, t.userId)))
          .returning(infoColumns(t));
        if (!row) throw new NotFoundError('credential');
        return row;
      });
    },

    /** Re-encrypts the data and refresh token of every row under the active key. Service only. */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateTable(
        ctx,
        'credentials.rotateEncryption',
        credentials,
        { encrypted_data: 'encryptedData', refresh_token: 'refreshToken' },
        options,
      );
    },
  };
}

export type CredentialsRepository = ReturnType<typeof createCredentialsRepository>;
