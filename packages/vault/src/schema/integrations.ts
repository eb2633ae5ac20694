import {
  createdAt,
  encrypted,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

export const INTEGRATION_STATUSES = ['pending', 'connected', 'error', 'disconnected'] as const;

/**
 * `integrations` (→ users): a user's connection to an outside service (an n8n
 * workflow's app). Settings are readable; the integration's secrets (webhook secret, client
 * secret...) are one ciphertext of a JSON object.
 */
export const integrations = table(
  'integrations',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    name: text().notNull(),
    status: textEnum(INTEGRATION_STATUSES).notNull().default('pending'),
    config: json<Record<string, unknown>>().notNull().default({}),
    /** A JSON object of secrets, or null. */
    encryptedSecrets: encrypted(),
    lastSyncedAt: timestamp(),
    lastError: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('integrations_user_provider_name_unique').on(t.userId, t.provider, t.name),
    index('integrations_user_idx').on(t.userId),
    ownedByUser(t.userId),
  ],
);

export type IntegrationRow = typeof integrations.pg.$inferSelect;
