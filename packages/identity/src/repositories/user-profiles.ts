import { type DomainContext, optionalText, requirePlainObject, run, statement } from '@exora/core';
import { type UserProfile, userProfiles } from '../schema/user-profiles.ts';

export interface UserProfileInput {
  displayName?: string | null;
  avatarUrl?: string | null;
  bio?: string | null;
  preferences?: Record<string, unknown>;
}

const findProfile = statement.maybe('userProfiles.get', userProfiles, [], ({ db, t, owned }) =>
  db.select().from(t).where(owned()),
);

/** Insert, or update the fields given; a `keep*` flag keeps a field the caller left out. */
const upsertProfile = statement.one(
  'userProfiles.upsert',
  userProfiles,
  [
    'displayName',
    'avatarUrl',
    'bio',
    'preferences',
    'keepDisplayName',
    'keepAvatarUrl',
    'keepBio',
    'keepPreferences',
    'now',
  ],
  ({ db, t, $, owner, keepIf }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        displayName: $.displayName,
        avatarUrl: $.avatarUrl,
        bio: $.bio,
        preferences: $.preferences,
      })
      .onConflictDoUpdate({
        target: t.userId,
        set: {
          displayName: keepIf(t.displayName, $.keepDisplayName),
          avatarUrl: keepIf(t.avatarUrl, $.keepAvatarUrl),
          bio: keepIf(t.bio, $.keepBio),
          preferences: keepIf(t.preferences, $.keepPreferences),
          updatedAt: $.bind(t.updatedAt, 'now'),
        },
      })
      .returning(),
);

/** User profiles (preferences and profile data), one per user, readable and writable by that user only. */
export function createUserProfilesRepository(ctx: DomainContext) {
  return {
    /** The profile of the acting user (a service passes `userId`), or null. */
    async get(userId?: string): Promise<UserProfile | null> {
      return run(ctx, findProfile, { owner: userId });
    },

    /** Creates or updates the profile; fields left out keep their values. */
    async upsert(input: UserProfileInput, userId?: string): Promise<UserProfile> {
      const given = requirePlainObject(input, 'input') as UserProfileInput;
      const displayName = optionalText(given.displayName, 'displayName', { max: 200 });
      const avatarUrl = optionalText(given.avatarUrl, 'avatarUrl', { max: 2048 });
      const bio = optionalText(given.bio, 'bio', { max: 5000 });
      const preferences =
        given.preferences === undefined
          ? undefined
          : requirePlainObject(given.preferences, 'preferences');
      return run(ctx, upsertProfile, {
        owner: userId,
        displayName: displayName ?? null,
        avatarUrl: avatarUrl ?? null,
        bio: bio ?? null,
        preferences: preferences ?? {},
        keepDisplayName: displayName === undefined,
        keepAvatarUrl: avatarUrl === undefined,
        keepBio: bio === undefined,
        keepPreferences: preferences === undefined,
        now: new Date(),
      });
    },
  };
}

export type UserProfilesRepository = ReturnType<typeof createUserProfilesRepository>;
