import {
  boolean,
  createdAt,
  encrypted,
  id,
  index,
  ownedByUser,
  table,
  timestamp,
  updatedAt,
  uuid,
  varchar,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/**
 * `credentials`: a user's login for a platform (e.g. vinsolutions). Older schemas kept
 * `encryptedData` and `iv` apart; here `encrypted_data` is one self-describing ciphertext that
 * carries its nonce and key id (so keys can rotate), and the refresh token is encrypted too.
 */
export const credentials = table(
  'credentials',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    platform: varchar(100).notNull(),
    label: varchar(200),
    /** The credential data (JSON text). */
    encryptedData: encrypted().notNull(),
    refreshToken: encrypted(),
    refreshTokenExpiry: timestamp(),
    active: boolean().notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('credentials_user_idx').on(t.userId),
    index('credentials_platform_idx').on(t.platform),
    ownedByUser(t.userId),
  ],
);

export type CredentialRow = typeof credentials.pg.$inferSelect;
