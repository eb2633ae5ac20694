import {
  createdAt,
  id,
  json,
  ownedByUser,
  table,
  text,
  textArray,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { businessDiscoverySessions } from './business-discovery-sessions.ts';

/** What a completed discovery session found out about the user's business. */
export const businessProfiles = table(
  'business_profiles',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    sessionId: uuid()
      .unique('business_profiles_session_unique')
      .references(() => businessDiscoverySessions.columns.id, { onDelete: 'cascade' }),
    businessName: text(),
    industry: text(),
    companySize: text(),
    goals: textArray().notNull().default([]),
    profile: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByUser(t.userId)],
);

export type BusinessProfile = typeof businessProfiles.pg.$inferSelect;
