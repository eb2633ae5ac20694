import {
  check,
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  json,
  ownedByUser,
  table,
  unique,
  uuid,
  varchar,
} from '@exora/core';
import { sql } from 'drizzle-orm';
import { reports } from './reports.ts';

/**
 * What was learned from a report, scored 0-100. `user_id` is the report's owner (the pair
 * references the report), so the owner filter and the row policy need no join.
 */
export const insights = table(
  'insights',
  {
    id: id(),
    reportId: uuid().notNull(),
    userId: uuid().notNull(),
    insightType: varchar(100).notNull(),
    content: json<Record<string, unknown>>().notNull().default({}),
    score: integer(),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey(
      'insights_report_owner_fk',
      [t.reportId, t.userId],
      () => [reports.columns.id, reports.columns.userId],
      { onDelete: 'cascade' },
    ),
    // Counting a report's insights, and the cascade from reports.
    index('insights_report_idx').on(t.reportId),
    index('insights_user_idx').on(t.userId),
    unique('insights_id_user_unique').on(t.id, t.userId),
    check('insights_score_range', sql`${t.score} between 0 and 100`),
    ownedByUser(t.userId),
  ],
);

export type Insight = typeof insights.pg.$inferSelect;
export type NewInsight = typeof insights.pg.$inferInsert;
