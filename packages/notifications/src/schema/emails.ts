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
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

export const EMAIL_STATUSES = ['queued', 'sent', 'failed'] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/** An attachment as the mailer takes it: where the file is, and how it is named. */
export type EmailAttachment = { filename: string; path: string; contentType?: string };

/** An email a user's workflow sends; `email_queue` holds its delivery job. */
export const emails = table(
  'emails',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    subject: text().notNull(),
    body: text().notNull(),
    recipients: json<string[]>().notNull(),
    attachments: json<EmailAttachment[]>().notNull().default([]),
    status: textEnum(EMAIL_STATUSES).notNull().default('queued'),
    sentAt: timestamp(),
    createdAt: createdAt(),
  },
  (t) => [index('emails_user_created_idx').on(t.userId, t.createdAt), ownedByUser(t.userId)],
);

export type Email = typeof emails.pg.$inferSelect;
export type NewEmail = typeof emails.pg.$inferInsert;
