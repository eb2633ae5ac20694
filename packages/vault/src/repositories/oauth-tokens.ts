import { randomUUID } from 'node:crypto';
import {
  actAs,
  optionalDate,
  ownedBy,
  requireDate,
  requireService,
  requireText,
  subjectOf,
  ValidationError,
} from '@exora/core';
import type { RotationResult } from '@exora/crypto';
import type { DomainContext } from '@exora/identity';
import { and, asc, eq, getTableColumns, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { type OauthTokenRow, oauthTokens } from '../schema/oauth-tokens.ts';
import {
  fieldContext,
  optionalSecret,
  type RotateEncryptionOptions,
  requireSecret,
  rotateTable,
} from './internal.ts';

const TABLE = 'oauth_tokens';

/** A token row without its secrets: what lists and finds return. */
export type OauthTokenInfo = Omit<OauthTokenRow, 'accessToken' | 'refreshToken'> & {
  /** Whether a refresh token is stored (its value is only returned by `getDecrypted`). */
  hasRefreshToken: boolean;
};

/** A live (not revoked) token with its secrets decrypted. */
export type OauthTokenDecrypted = OauthTokenInfo & {
  accessToken: string;
  refreshToken: string | null;
};

export interface SaveOauthTokenInput {
  provider: string;
  accessToken: string;
  /**
   * Left out: an existing refresh token is kept (providers often omit it when refreshing);
   * `null`: cleared; a string: replaced.
   */
  refreshToken?: string | null;
  /** Default `Bearer` for a new row; left out, an existing row keeps its type. */
  tokenType?: string;
  /** Left out, a new row gets `[]` and an existing row keeps its scopes. */
  scopes?: string[];
  /** When the access token expires; left out or null: unknown (stored as null). */
  expiresAt?: Date | null;
}

/** Every column but the ciphertexts, plus whether a refresh token is there. */
function infoColumns(t: typeof oauthTokens.pg) {
  const { accessToken: _a, refreshToken: _r, ...rest } = getTableColumns(t);
  return {
    ...rest,
    hasRefreshToken: sql<boolean>`(${t.refreshToken} is not null)`.mapWith(Boolean),
  };
}

function validateScopes(value: unknown): string[] {
  if (!Array.isArray(value)) throw new ValidationError('scopes', 'must be an array of strings');
  if (value.length > 200) throw new ValidationError('scopes', 'must have at most 200 entries');
  return [...new Set(value.map((s, i) => requireText(s, `scopes[${i}]`, { max: 500 })))];
}

/**
 * Seed 000's OAuth grants: one per user and provider, both tokens encrypted and bound to their
 * row. `revoke` keeps the row (with `revokedAt`) but destroys both secrets: the refresh token
 * becomes null and the access token is overwritten with the encryption of an empty string (the
 * column is NOT NULL), so a revoked grant holds nothing usable; `save` brings it back to life.
 */
export function createOauthTokensRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const { cipher } = crypto;
  const encrypt = (value: string, column: string, rowId: string) =>
    cipher.encrypt(value, fieldContext(TABLE, column, rowId));
  const provider = (value: unknown) => requireText(value, 'provider', { max: 100 });
  /** The user's unrevoked grant for a provider, as the actor may see it. */
  const liveGrant = (t: typeof oauthTokens.pg, who: string, p: string) =>
    and(eq(t.userId, who), eq(t.provider, p), isNull(t.revokedAt), ownedBy(actor, t.userId));

  return {
    /**
     * Stores the grant of the user (a service names `userId`) for `provider`: inserted, or
     * updated in place when one exists (clearing `revokedAt`). Returns it without secrets.
     */
    async save(input: SaveOauthTokenInput, userId?: string): Promise<OauthTokenInfo> {
      const who = subjectOf(actor, userId);
      if (typeof input !== 'object' || input === null) {
        throw new ValidationError('input', 'must be an object');
      }
      const values = {
        provider: provider(input.provider),
        accessToken: requireSecret(input.accessToken, 'accessToken'),
        refreshToken: optionalSecret(input.refreshToken, 'refreshToken'),
        tokenType:
          input.tokenType === undefined
            ? undefined
            : requireText(input.tokenType, 'tokenType', { max: 50 }),
        scopes: input.scopes === undefined ? undefined : validateScopes(input.scopes),
        expiresAt: optionalDate(input.expiresAt, 'expiresAt') ?? null,
      };
      const secretsFor = (rowId: string) => ({
        accessToken: encrypt(values.accessToken, 'access_token', rowId),
        ...(values.refreshToken === undefined
          ? {}
          : {
              refreshToken:
                values.refreshToken === null
                  ? null
                  : encrypt(values.refreshToken, 'refresh_token', rowId),
            }),
      });
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(oauthTokens);
        // The ciphertexts are bound to a row id chosen here. If the user already has a grant for
        // this provider, the upsert keeps that row's id instead: the secrets are then encrypted
        // again for it, in the same transaction, before anyone can read the row.
        const id = randomUUID();
        const [row] = await tx.db
          .insert(t)
          .values({
            id,
            userId: who,
            provider: values.provider,
            tokenType: values.tokenType ?? 'Bearer',
            scopes: values.scopes ?? [],
            expiresAt: values.expiresAt,
            ...secretsFor(id),
          })
          .onConflictDoUpdate({
            target: [t.userId, t.provider],
            set: {
              ...(values.tokenType === undefined ? {} : { tokenType: values.tokenType }),
              ...(values.scopes === undefined ? {} : { scopes: values.scopes }),
              expiresAt: values.expiresAt,
              revokedAt: null,
              updatedAt: new Date(),
            },
          })
          .returning(infoColumns(t));
        if (row!.id === id) return row!;
        const [updated] = await tx.db
          .update(t)
          .set(secretsFor(row!.id))
          .where(eq(t.id, row!.id))
          .returning(infoColumns(t));
        return updated!;
      });
    },

    /** The user's grant for `provider` without secrets (revoked ones too), or null. */
    async find(providerName: string, userId?: string): Promise<OauthTokenInfo | null> {
      const who = subjectOf(actor, userId);
      const p = provider(providerName);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(oauthTokens);
        const [row] = await tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(eq(t.userId, who), eq(t.provider, p), ownedBy(actor, t.userId)));
        return row ?? null;
      });
    },

    /** Every grant of the user, without secrets, by provider. */
    async list(userId?: string): Promise<OauthTokenInfo[]> {
      const who = subjectOf(actor, userId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(oauthTokens);
        return tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)))
          .orderBy(asc(t.provider));
      });
    },

    /**
     * The user's live grant for `provider` with both tokens decrypted; null when there is none
     * or it was revoked. An expired access token is returned as is (see `expiresAt`).
     * A value that does not decrypt (tampered, or moved from another row) throws the crypto
     * package's `DecryptionError`.
     */
    async getDecrypted(providerName: string, userId?: string): Promise<OauthTokenDecrypted | null> {
      const who = subjectOf(actor, userId);
      const p = provider(providerName);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(oauthTokens);
        const [row] = await tx.db
          .select({
            ...infoColumns(t),
            accessTokenCiphertext: t.accessToken,
            refreshTokenCiphertext: t.refreshToken,
          })
          .from(t)
          .where(liveGrant(t, who, p));
        if (!row) return null;
        const { accessTokenCiphertext, refreshTokenCiphertext, ...info } = row;
        return {
          ...info,
          accessToken: cipher.decrypt(
            accessTokenCiphertext,
            fieldContext(TABLE, 'access_token', row.id),
          ),
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

    /**
     * Live grants of every user whose access token expires before `time` (a refresh job's work
     * list), soonest first, without secrets. Service only.
     */
    async listExpiringBefore(
      time: Date,
      options: { limit?: number } = {},
    ): Promise<OauthTokenInfo[]> {
      requireService(actor, 'oauthTokens.listExpiringBefore');
      const before = requireDate(time, 'time');
      const limit = options.limit ?? 500;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new ValidationError('limit', 'must be an integer from 1 to 10000');
      }
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(oauthTokens);
        return tx.db
          .select(infoColumns(t))
          .from(t)
          .where(and(isNotNull(t.expiresAt), lt(t.expiresAt, before), isNull(t.revokedAt)))
          .orderBy(asc(t.expiresAt), asc(t.id))
          .limit(limit);
      });
    },

    /**
     * Revokes the user's grant for `provider`: sets `revokedAt` and destroys both secrets (see
     * above). Returns false when there was no live grant to revoke.
     */
    async revoke(providerName: string, userId?: string): Promise<boolean> {
      const who = subjectOf(actor, userId);
      const p = provider(providerName);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(oauthTokens);
        const [row] = await tx.db
          .select({ id: t.id })
          .from(t)
          .where(liveGrant(t, who, p));
        if (!row) return false;
        await tx.db
          .update(t)
          .set({
            revokedAt: new Date(),
            accessToken: encrypt('', 'access_token', row.id),
            refreshToken: null,
          })
          .where(eq(t.id, row.id));
        return true;
      });
    },

    /** Re-encrypts both token columns of every row under the active key. Service only. */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateTable(
        ctx,
        'oauthTokens.rotateEncryption',
        oauthTokens,
        { access_token: 'accessToken', refresh_token: 'refreshToken' },
        options,
      );
    },
  };
}

export type OauthTokensRepository = ReturnType<typeof createOauthTokensRepository>;
