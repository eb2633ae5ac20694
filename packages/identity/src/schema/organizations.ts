import { createdAt, id, json, ownedByOrganization, table, text, updatedAt } from '@exora/core';

/**
 * `organizations`: the multi-tenant root (also what older schemas called companies).
 * The invite token is stored only as a blind-index hash: it is shown once when made.
 */
export const organizations = table(
  'organizations',
  {
    id: id(),
    name: text().notNull(),
    /** HMAC of the invite token, for find-by-token; unique. */
    inviteTokenHash: text().notNull().unique('organizations_invite_token_hash_unique'),
    /** Free-form settings (jsonb on Postgres, JSON text on SQLite). */
    settings: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByOrganization(t.id, { anyUserInserts: true })],
);

export type Organization = typeof organizations.pg.$inferSelect;
export type NewOrganization = typeof organizations.pg.$inferInsert;
