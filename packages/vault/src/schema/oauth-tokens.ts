import {
  createdAt,
  id,
  index,
  ownedByUser,
  table,
  text,
  textArray,
  timestamp,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/**
 * Seed 000's `oauth_tokens`: a user's OAuth grant per provider. Both tokens are AES-256-GCM
 * ciphertexts (`@exora/crypto` format, bound to table, column and row id).
 */
export const oauthTokens = table(
  'oauth_tokens',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    /** Ciphertext. */
    accessToken: text().notNull(),
    /** Ciphertext. */
    refreshToken: text(),
    tokenType: text().notNull().default('Bearer'),
    scopes: textArray().notNull().default([]),
    expiresAt: timestamp(),
    revokedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('oauth_tokens_user_provider_unique').on(t.userId, t.provider),
    index('oauth_tokens_expires_at_idx').on(t.expiresAt),
    ownedByUser(t.userId),
  ],
);

export type OauthTokenRow = typeof oauthTokens.pg.$inferSelect;
export const OAUTH_TOKEN_SECRET_COLUMNS = ['access_token', 'refresh_token'] as const;
