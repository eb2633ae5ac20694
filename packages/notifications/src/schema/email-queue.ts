import {
  createdAt,
  id,
  index,
  integer,
  nowSql,
  serviceOnly,
  table,
  text,
  textEnum,
  timestamp,
  updatedAt,
  uuid,
} from '@exora/core';
import { sql } from 'drizzle-orm';
import { emails } from './emails.ts';

export const EMAIL_JOB_STATUSES = ['pending', 'claimed', 'sent', 'dead'] as const;
export type EmailJobStatus = (typeof EMAIL_JOB_STATUSES)[number];

/**
 * The delivery job of an email: workers claim pending jobs, highest priority first, then
 * oldest. `available_at` is when a pending job may be claimed (later after a failure: the
 * backoff) and, while claimed, when the claim lapses (the visibility timeout). Only services
 * (the mail workers) touch it.
 */
export const emailQueue = table(
  'email_queue',
  {
    id: id(),
    emailId: uuid()
      .notNull()
      .unique('email_queue_email_unique')
      .references(() => emails.columns.id, { onDelete: 'cascade' }),
    priority: integer().notNull().default(0),
    attempts: integer().notNull().default(0),
    maxAttempts: integer().notNull().default(5),
    lastAttempt: timestamp(),
    status: textEnum(EMAIL_JOB_STATUSES).notNull().default('pending'),
    error: text(),
    claimedBy: text(),
    availableAt: timestamp().notNull().defaultSql(nowSql),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The claim order and the pending-emails query: status by equality, then priority
    // descending and age ascending, read in index order. Lapsed claims are found on its status
    // prefix too (claimed jobs are the few in flight). No second index starts with status: with
    // one on (status, available_at) the planners read pending jobs through it and sorted them.
    index('email_queue_status_priority_created_idx').on(
      t.status,
      sql`${t.priority} desc`,
      t.createdAt,
    ),
    serviceOnly(),
  ],
);

export type EmailJob = typeof emailQueue.pg.$inferSelect;
export type NewEmailJob = typeof emailQueue.pg.$inferInsert;
