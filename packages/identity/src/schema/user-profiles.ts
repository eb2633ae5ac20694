import { createdAt, id, json, ownedByUser, table, text, updatedAt, uuid } from '@exora/core';
import { users } from './users.ts';

/** `user_profiles`: preferences and profile data, one row per user. */
export const userProfiles = table(
  'user_profiles',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .unique('user_profiles_user_id_unique')
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    displayName: text(),
    avatarUrl: text(),
    bio: text(),
    preferences: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByUser(t.userId)],
);

export type UserProfile = typeof userProfiles.pg.$inferSelect;
export type NewUserProfile = typeof userProfiles.pg.$inferInsert;
