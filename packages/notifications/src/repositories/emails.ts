import {
  type DomainContext,
  found,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, eq } from 'drizzle-orm';
import { type Email, type EmailAttachment, emails } from '../schema/emails.ts';

const createEmail = statement.one(
  'emails.create',
  emails,
  ['subject', 'body', 'recipients', 'attachments'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        subject: $.subject,
        body: $.body,
        recipients: $.recipients,
        attachments: $.attachments,
      })
      .returning(),
);

const findEmail = statement.maybe('emails.find', emails, ['id'], ({ db, t, $, owned }) =>
  db
    .select()
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

export interface CreateEmailInput {
  subject: string;
  body: string;
  recipients: string[];
  attachments?: EmailAttachment[];
}

/** Emails a user's workflows send; `emailQueue` delivers them. */
export function createEmailsRepository(ctx: DomainContext) {
  return {
    /** Writes an email of the user (a service names them); queue it with `emailQueue.enqueue`. */
    async create(input: CreateEmailInput, userId?: string): Promise<Email> {
      const given = requirePlainObject(input, 'input') as unknown as CreateEmailInput;
      if (!Array.isArray(given.recipients) || given.recipients.length === 0) {
        throw new ValidationError('recipients', 'must be a non-empty array');
      }
      const attachments = given.attachments ?? [];
      if (!Array.isArray(attachments)) {
        throw new ValidationError('attachments', 'must be an array');
      }
      return run(ctx, createEmail, {
        owner: userId,
        subject: requireText(given.subject, 'subject', { max: 1000 }),
        body: requireText(given.body, 'body', { min: 0, max: 1_000_000 }),
        recipients: given.recipients.map((r) => requireText(r, 'recipients', { max: 320 })),
        attachments,
      });
    },

    /** The user's email, or NotFoundError. */
    async get(id: string, userId?: string): Promise<Email> {
      return found('email', run(ctx, findEmail, { owner: userId, id: requireUuid(id, 'id') }));
    },
  };
}
