import {
  createdAt,
  encrypted,
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
 * `oauth_tokens`: a user's OAuth grant per provider. Both tokens are encrypted, bound
 * to the grant's user and provider (its natural key), so saving a grant is one upsert whose
 * ciphertexts are valid whichever row it lands on.
 */
export const oauthTokens = table(
  'oauth_tokens',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    accessToken: encrypted({ boundTo: ['userId', 'provider'] }).notNull(),
    refreshToken: encrypted({ boundTo: ['userId', 'provider'] }),
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
