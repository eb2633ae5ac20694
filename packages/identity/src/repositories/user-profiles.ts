import {
  actAs,
  NotFoundError,
  optionalText,
  ownedBy,
  requirePlainObject,
  subjectOf,
} from '@exora/core';
import { and, eq } from 'drizzle-orm';
import type { DomainContext } from '../context.ts';
import { type UserProfile, userProfiles } from '../schema/user-profiles.ts';

export interface UserProfileInput {
  displayName?: string | null;
  avatarUrl?: string | null;
  bio?: string | null;
  preferences?: Record<string, unknown>;
}

function validate(input: UserProfileInput): UserProfileInput {
  const out: UserProfileInput = {};
  const displayName = optionalText(input.displayName, 'displayName', { max: 200 });
  const avatarUrl = optionalText(input.avatarUrl, 'avatarUrl', { max: 2048 });
  const bio = optionalText(input.bio, 'bio', { max: 5000 });
  if (displayName !== undefined) out.displayName = displayName;
  if (avatarUrl !== undefined) out.avatarUrl = avatarUrl;
  if (bio !== undefined) out.bio = bio;
  if (input.preferences !== undefined)
    out.preferences = requirePlainObject(input.preferences, 'preferences');
  return out;
}

/** Seed 003's user profiles: one per user, readable and writable by that user only. */
export function createUserProfilesRepository(ctx: DomainContext) {
  const { actor } = ctx;
  const subject = (userId?: string) => subjectOf(actor, userId);

  return {
    /** The profile of the acting user (a service passes `userId`), or null. */
    async get(userId?: string): Promise<UserProfile | null> {
      const who = subject(userId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(userProfiles);
        const [row] = await tx.db
          .select()
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)));
        return row ?? null;
      });
    },

    /** Creates or updates the profile; fields left out keep their values. */
    async upsert(input: UserProfileInput, userId?: string): Promise<UserProfile> {
      const who = subject(userId);
      const values = validate(input);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(userProfiles);
        const [row] = await tx.db
          .insert(t)
          .values({ userId: who, ...values })
          .onConflictDoUpdate({ target: t.userId, set: { ...values, updatedAt: new Date() } })
          .returning();
        if (!row) throw new NotFoundError('user profile');
        return row;
      });
    },
  };
}

export type UserProfilesRepository = ReturnType<typeof createUserProfilesRepository>;
