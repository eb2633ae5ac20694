import {
  createdAt,
  id,
  index,
  ownedByUserOrOrganization,
  table,
  text,
  textEnum,
  timestamp,
  uniqueIndex,
  updatedAt,
  uuid,
} from '@exora/core';
import { sql } from 'drizzle-orm';
import { organizations } from './organizations.ts';

export const USER_ROLES = ['admin', 'regular'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/**
 * Every user of the platform, in one table. Emails are stored lower-cased and are unique
 * without regard to case (a unique index on `lower(email)` guards raw writes too).
 */
export const users = table(
  'users',
  {
    id: id(),
    /** Deleting the organization deletes its users. */
    organizationId: uuid().references(() => organizations.columns.id, { onDelete: 'cascade' }),
    email: text().notNull(),
    /** Argon2id PHC string; legacy bcrypt hashes are accepted and upgraded on login. */
    passwordHash: text(),
    /** Display name, free text. */
    name: text(),
    /** Name parts and picture, as an identity provider gives them. */
    firstName: text(),
    lastName: text(),
    profileImageUrl: text(),
    role: textEnum(USER_ROLES).notNull().default('regular'),
    lastLoginAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('users_email_lower_unique').on(sql`lower(${t.email})`),
    index('users_organization_idx').on(t.organizationId),
    ownedByUserOrOrganization(t.id, t.organizationId, t.role),
  ],
);

export type User = typeof users.pg.$inferSelect;
export type NewUser = typeof users.pg.$inferInsert;
