import { createdAt, id, json, ownedByOrganization, table, text, updatedAt } from '@exora/core';

/**
 * Seed 000's `organizations` and seed 002's `companies` (the multi-tenant root).
 * The invite token is stored only as a blind-index hash: it is shown once when made.
 */
export const organizations = table(
  'organizations',
  {
    id: id(),
    name: text().notNull(),
    /** HMAC of the invite token (seed 002 `invite_token`), for find-by-token; unique. */
    inviteTokenHash: text().notNull().unique('organizations_invite_token_hash_unique'),
    /** Seed 002 `settings`, JSON text there, jsonb here. */
    settings: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByOrganization(t.id, { anyUserInserts: true })],
);

export type Organization = typeof organizations.pg.$inferSelect;
export type NewOrganization = typeof organizations.pg.$inferInsert;
