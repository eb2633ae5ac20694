import {
  type DomainContext,
  optionalDate,
  publicColumns,
  requireDate,
  requireText,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import type { RotationResult } from '@exora/crypto';
import { and, asc, eq, isNotNull, isNull, lt } from 'drizzle-orm';
import { type OauthTokenRow, oauthTokens } from '../schema/oauth-tokens.ts';
import { optionalSecret, ownerId, ownerParam, requireInput, requireSecret } from './internal.ts';
import { type RotateEncryptionOptions, rotateEncryption } from './rotation.ts';

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

const info = (t: typeof oauthTokens.pg) => publicColumns(t, oauthTokens);

/**
 * One upsert on (user, provider): the tokens' ciphertexts are bound to that natural key, so they
 * are valid whichever row the upsert lands on. What the call leaves out is kept (`keep*`).
 */
const saveGrant = statement.one(
  'oauthTokens.save',
  oauthTokens,
  [
    'provider',
    'accessToken',
    'refreshToken',
    'keepRefreshToken',
    'tokenType',
    'keepTokenType',
    'scopes',
    'keepScopes',
    'expiresAt',
    'now',
  ],
  ({ db, t, $, owner, excluded, keepIf }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        provider: $.provider,
        accessToken: $.accessToken,
        refreshToken: $.refreshToken,
        tokenType: $.tokenType,
        scopes: $.scopes,
        expiresAt: $.expiresAt,
        createdAt: $.now,
        updatedAt: $.now,
      })
      .onConflictDoUpdate({
        target: [t.userId, t.provider],
        set: {
          accessToken: excluded(t.accessToken),
          refreshToken: keepIf(t.refreshToken, $.keepRefreshToken),
          tokenType: keepIf(t.tokenType, $.keepTokenType),
          scopes: keepIf(t.scopes, $.keepScopes),
          expiresAt: excluded(t.expiresAt),
          revokedAt: null,
          updatedAt: excluded(t.updatedAt),
        },
      })
      .returning(info(t)),
);

const findGrant = statement.maybe(
  'oauthTokens.find',
  oauthTokens,
  ['provider'],
  ({ db, t, $, owned }) =>
    db
      .select(info(t))
      .from(t)
      .where(and(owned(), eq(t.provider, $.provider))),
);

const listGrants = statement.many(
  'oauthTokens.list',
  oauthTokens,
  [],
  ({ db, t, owned }) => db.select(info(t)).from(t).where(owned()).orderBy(asc(t.provider)),
  { stale: true },
);

const liveGrant = statement.maybe(
  'oauthTokens.getDecrypted',
  oauthTokens,
  ['provider'],
  ({ db, t, $, owned }) =>
    db
      .select({ ...info(t), accessToken: t.accessToken, refreshToken: t.refreshToken })
      .from(t)
      .where(and(owned(), eq(t.provider, $.provider), isNull(t.revokedAt))),
);

const expiring = statement.many(
  'oauthTokens.listExpiringBefore',
  oauthTokens,
  ['before', 'limit'],
  ({ db, t, $ }) =>
    db
      .select(info(t))
      .from(t)
      .where(and(isNotNull(t.expiresAt), lt(t.expiresAt, $.before), isNull(t.revokedAt)))
      .orderBy(asc(t.expiresAt), asc(t.id))
      .limit($.limit),
  { serviceOnly: true },
);

/** Revokes a live grant: the refresh token cleared, the access token (NOT NULL) an empty one. */
const revokeGrant = statement.count(
  'oauthTokens.revoke',
  oauthTokens,
  ['provider', 'emptyToken', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        accessToken: $.bind(t.accessToken, 'emptyToken'),
        refreshToken: null,
        revokedAt: $.bind(t.revokedAt, 'now'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(owned(), eq(t.provider, $.provider), isNull(t.revokedAt))),
);

function validateScopes(value: unknown): string[] {
  if (!Array.isArray(value)) throw new ValidationError('scopes', 'must be an array of strings');
  if (value.length > 200) throw new ValidationError('scopes', 'must have at most 200 entries');
  return [...new Set(value.map((s, i) => requireText(s, `scopes[${i}]`, { max: 500 })))];
}

const provider = (value: unknown) => requireText(value, 'provider', { max: 100 });

/**
 * OAuth grants: one per user and provider, both tokens encrypted and bound to the
 * grant. `revoke` keeps the row (with `revokedAt`) but destroys both secrets: the refresh token
 * becomes null and the access token is overwritten with the encryption of an empty string (the
 * column is NOT NULL), so a revoked grant holds nothing usable; `save` brings it back to life.
 */
export function createOauthTokensRepository(ctx: DomainContext) {
  return {
    /**
     * Stores the grant of the user (a service names `userId`) for `provider`: inserted, or
     * updated in place when one exists (clearing `revokedAt`). Returns it without secrets.
     */
    async save(input: SaveOauthTokenInput, userId?: string): Promise<OauthTokenInfo> {
      const given = requireInput(input);
      const refreshToken = optionalSecret(given.refreshToken, 'refreshToken');
      const tokenType =
        given.tokenType === undefined
          ? undefined
          : requireText(given.tokenType, 'tokenType', { max: 50 });
      const scopes = given.scopes === undefined ? undefined : validateScopes(given.scopes);
      return run(ctx, saveGrant, {
        owner: ownerId(userId),
        provider: provider(given.provider),
        accessToken: requireSecret(given.accessToken, 'accessToken'),
        refreshToken: refreshToken ?? null,
        keepRefreshToken: refreshToken === undefined,
        tokenType: tokenType ?? 'Bearer',
        keepTokenType: tokenType === undefined,
        scopes: scopes ?? [],
        keepScopes: scopes === undefined,
        expiresAt: optionalDate(given.expiresAt, 'expiresAt') ?? null,
        now: new Date(),
      }) as Promise<OauthTokenInfo>;
    },

    /** The user's grant for `provider` without secrets (revoked ones too), or null. */
    async find(providerName: string, userId?: string): Promise<OauthTokenInfo | null> {
      const params = { owner: ownerId(userId), provider: provider(providerName) };
      return run(ctx, findGrant, params) as Promise<OauthTokenInfo | null>;
    },

    /** Every grant of the user, without secrets, by provider. */
    async list(userId?: string): Promise<OauthTokenInfo[]> {
      return run(ctx, listGrants, ownerParam(userId)) as Promise<OauthTokenInfo[]>;
    },

    /**
     * The user's live grant for `provider` with both tokens decrypted; null when there is none
     * or it was revoked. An expired access token is returned as is (see `expiresAt`).
     * A value that does not decrypt (tampered, or moved from another grant) throws the crypto
     * package's `DecryptionError`.
     */
    async getDecrypted(providerName: string, userId?: string): Promise<OauthTokenDecrypted | null> {
      const params = { owner: ownerId(userId), provider: provider(providerName) };
      return run(ctx, liveGrant, params) as Promise<OauthTokenDecrypted | null>;
    },

    /**
     * Live grants of every user whose access token expires before `time` (a refresh job's work
     * list), soonest first, without secrets. Service only.
     */
    async listExpiringBefore(
      time: Date,
      options: { limit?: number } = {},
    ): Promise<OauthTokenInfo[]> {
      const before = requireDate(time, 'time');
      const limit = options.limit ?? 500;
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new ValidationError('limit', 'must be an integer from 1 to 10000');
      }
      return run(ctx, expiring, { before, limit }) as Promise<OauthTokenInfo[]>;
    },

    /**
     * Revokes the user's grant for `provider`: sets `revokedAt` and destroys both secrets (see
     * above). Returns false when there was no live grant to revoke.
     */
    async revoke(providerName: string, userId?: string): Promise<boolean> {
      const params = { owner: ownerId(userId), provider: provider(providerName) };
      return (
        (await run(
          ctx,
          revokeGrant,
          Object.assign({}, params, { emptyToken: '', now: new Date() }),
        )) > 0
      );
    },

    /** Re-encrypts both token columns of every row under the active key. Service only. */
    rotateEncryption(options: RotateEncryptionOptions = {}): Promise<RotationResult> {
      return rotateEncryption(ctx, oauthTokens, options);
    },
  };
}

export type OauthTokensRepository = ReturnType<typeof createOauthTokensRepository>;
