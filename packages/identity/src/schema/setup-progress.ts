import {
  boolean,
  createdAt,
  id,
  json,
  ownedByUser,
  table,
  text,
  textArray,
  timestamp,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from './users.ts';

/** `setup_progress` (→ users): where a user is in onboarding. One row per user. */
export const setupProgress = table(
  'setup_progress',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .unique('setup_progress_user_id_unique')
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    currentStep: text().notNull().default('welcome'),
    completedSteps: textArray().notNull().default([]),
    data: json<Record<string, unknown>>().notNull().default({}),
    isComplete: boolean().notNull().default(false),
    completedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [ownedByUser(t.userId)],
);

export type SetupProgress = typeof setupProgress.pg.$inferSelect;
export type NewSetupProgress = typeof setupProgress.pg.$inferInsert;
