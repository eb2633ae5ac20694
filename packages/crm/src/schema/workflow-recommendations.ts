import {
  createdAt,
  id,
  index,
  ownedByUser,
  real,
  table,
  text,
  textEnum,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { workflowTemplates } from '@exora/workflows/schema';
import { businessDiscoverySessions } from './business-discovery-sessions.ts';

export const RECOMMENDATION_STATUSES = ['pending', 'accepted', 'dismissed'] as const;

/** A catalog workflow suggested to the user by a discovery session. */
export const workflowRecommendations = table(
  'workflow_recommendations',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    sessionId: uuid().references(() => businessDiscoverySessions.columns.id, {
      onDelete: 'cascade',
    }),
    workflowTemplateId: uuid().references(() => workflowTemplates.columns.id, {
      onDelete: 'set null',
    }),
    title: text().notNull(),
    reason: text(),
    score: real(),
    status: textEnum(RECOMMENDATION_STATUSES).notNull().default('pending'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('workflow_recommendations_user_status_idx').on(t.userId, t.status),
    index('workflow_recommendations_session_idx').on(t.sessionId),
    ownedByUser(t.userId),
  ],
);

export type WorkflowRecommendation = typeof workflowRecommendations.pg.$inferSelect;
