import {
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  timestamp,
  unique,
  updatedAt,
  uuid,
  varchar,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/** A processed vendor report of a user: the file it came from and the data read out of it. */
export const reports = table(
  'reports',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    vendor: varchar(100).notNull(),
    reportType: varchar(100).notNull(),
    reportDate: timestamp().notNull(),
    filePath: text(),
    reportData: json<Record<string, unknown>>().notNull().default({}),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // Reports of a user, newest report date first (read backwards).
    index('reports_user_date_idx').on(t.userId, t.reportDate),
    // Insights reference a report together with its owner.
    unique('reports_id_user_unique').on(t.id, t.userId),
    ownedByUser(t.userId),
  ],
);

export type Report = typeof reports.pg.$inferSelect;
export type NewReport = typeof reports.pg.$inferInsert;
