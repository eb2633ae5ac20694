import {
  createdAt,
  foreignKey,
  id,
  index,
  ownedByUser,
  table,
  textEnum,
  timestamp,
  uuid,
  varchar,
} from '@exora/core';
import { insights } from './insights.ts';

export const DISTRIBUTION_STATUSES = ['pending', 'sent', 'failed'] as const;
export type DistributionStatus = (typeof DISTRIBUTION_STATUSES)[number];

/** An insight sent (or to be sent) to one recipient by one method. */
export const insightDistributions = table(
  'insight_distributions',
  {
    id: id(),
    insightId: uuid().notNull(),
    userId: uuid().notNull(),
    recipientType: varchar(100).notNull(),
    recipientId: varchar(255).notNull(),
    distributionMethod: varchar(100).notNull(),
    status: textEnum(DISTRIBUTION_STATUSES).notNull().default('pending'),
    sentAt: timestamp(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey(
      'insight_distributions_insight_owner_fk',
      [t.insightId, t.userId],
      () => [insights.columns.id, insights.columns.userId],
      { onDelete: 'cascade' },
    ),
    index('insight_distributions_insight_idx').on(t.insightId),
    index('insight_distributions_user_idx').on(t.userId),
    ownedByUser(t.userId),
  ],
);

export type InsightDistribution = typeof insightDistributions.pg.$inferSelect;
export type NewInsightDistribution = typeof insightDistributions.pg.$inferInsert;
