import {
  boolean,
  createdAt,
  encrypted,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  timestamp,
  uniqueIndex,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { sql } from 'drizzle-orm';

/**
 * `api_keys`: a user's provider keys (encrypted key, `key_hash`, `masked_key`, provider,
 * metadata) and named platform keys (a unique
 * `keyName`: here rows with no user, reachable only from a service context).
 */
export const apiKeys = table(
  'api_keys',
  {
    id: id(),
    /** Null for platform-wide keys. */
    userId: uuid().references(() => users.columns.id, { onDelete: 'cascade' }),
    /** The key's name; unique per owner. */
    name: text().notNull(),
    provider: text().notNull(),
    /** The key, encrypted. */
    encryptedKey: encrypted().notNull(),
    /** HMAC-SHA256 blind index of the key, to find a key by its plaintext. */
    keyHash: text().notNull().unique('api_keys_key_hash_unique'),
    /** For display, e.g. `sk-A...9Xz`. */
    maskedKey: text().notNull(),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    active: boolean().notNull().default(true),
    lastUsedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('api_keys_user_idx').on(t.userId),
    index('api_keys_provider_idx').on(t.provider),
    uniqueIndex('api_keys_user_name_unique')
      .on(t.userId, t.name)
      .where(sql`${t.userId} is not null`),
    uniqueIndex('api_keys_platform_name_unique').on(t.name).where(sql`${t.userId} is null`),
    ownedByUser(t.userId),
  ],
);

export type ApiKeyRow = typeof apiKeys.pg.$inferSelect;
