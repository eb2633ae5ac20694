import {
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

export const DISCOVERY_STATUSES = ['in_progress', 'completed', 'abandoned'] as const;

/** A business discovery questionnaire in progress: answers by question key. */
export const businessDiscoverySessions = table(
  'business_discovery_sessions',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    status: textEnum(DISCOVERY_STATUSES).notNull().default('in_progress'),
    answers: json<Record<string, unknown>>().notNull().default({}),
    currentQuestion: text(),
    completedAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('business_discovery_sessions_user_idx').on(t.userId, t.status),
    ownedByUser(t.userId),
  ],
);

export type BusinessDiscoverySession = typeof businessDiscoverySessions.pg.$inferSelect;
