import {
  type DomainContext,
  ForeignKeyViolationError,
  NotFoundError,
  optionalDate,
  PreconditionError,
  requireInteger,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
} from '@exora/core';
import { and, asc, desc, eq, inArray, lte, type Placeholder, sql } from 'drizzle-orm';
import { type EmailJob, emailQueue } from '../schema/email-queue.ts';
import { emails } from '../schema/emails.ts';

/**
 * The job is no longer this worker's: its claim lapsed and it was handed out again (its attempt
 * number moved on), or it was finished or requeued. Nothing was written.
 */
export class ClaimLostError extends PreconditionError {
  override name = 'ClaimLostError';
  constructor() {
    super('email job is not claimed by this worker');
  }
}

/** A claimed job as its worker holds it: the attempt number fences later writes. */
export type ClaimedEmailJob = Pick<EmailJob, 'id' | 'emailId' | 'priority' | 'attempts'>;

type Queue = typeof emailQueue.pg;
type Slots = { readonly [K in 'id' | 'worker' | 'attempts']: Placeholder };

/** The claim as its worker knows it: same worker, same attempt, still claimed. */
const claimedBy = (t: Queue, $: Slots) =>
  and(
    eq(t.id, $.id),
    eq(t.status, 'claimed'),
    eq(t.claimedBy, $.worker),
    eq(t.attempts, $.attempts),
  );

/** `dead` once the attempts are used up, else `pending` again. */
const retryOrDead = (t: Queue) =>
  sql`case when ${t.attempts} >= ${t.maxAttempts} then 'dead' else 'pending' end`;

const enqueueJob = statement.one(
  'emailQueue.enqueue',
  emailQueue,
  ['emailId', 'priority', 'maxAttempts', 'availableAt'],
  ({ db, t, $ }) =>
    db
      .insert(t)
      .values({
        emailId: $.emailId,
        priority: $.priority,
        maxAttempts: $.maxAttempts,
        availableAt: $.availableAt,
      })
      .returning(),
  { serviceOnly: true },
);

/**
 * One statement: the pending jobs that are due, highest priority first then oldest, claimed for
 * the worker. On Postgres the inner select locks what it picks and skips rows other claims have
 * locked (`FOR UPDATE SKIP LOCKED`), so concurrent workers get disjoint jobs without waiting; on
 * SQLite the statement holds the write lock from its first row to its last.
 */
const claimJobs = statement.many(
  'emailQueue.claim',
  emailQueue,
  ['worker', 'now', 'until', 'limit'],
  ({ db, t, $, fn }) =>
    db
      .update(t)
      .set({
        status: 'claimed',
        claimedBy: sql`${$.worker}`,
        attempts: sql`${t.attempts} + 1`,
        lastAttempt: $.bind(t.lastAttempt, 'now'),
        availableAt: $.bind(t.availableAt, 'until'),
      })
      .where(
        inArray(
          t.id,
          fn.skipLocked(
            db
              .select({ id: t.id })
              .from(t)
              .where(and(eq(t.status, 'pending'), lte(t.availableAt, $.now)))
              .orderBy(desc(t.priority), asc(t.createdAt))
              .limit($.limit),
          ),
        ),
      )
      .returning({ id: t.id, emailId: t.emailId, priority: t.priority, attempts: t.attempts }),
  { serviceOnly: true },
);

const completeJob = statement.maybe(
  'emailQueue.complete',
  emailQueue,
  ['id', 'worker', 'attempts'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ status: 'sent', error: null })
      .where(claimedBy(t, $))
      .returning({ emailId: t.emailId }),
  { serviceOnly: true },
);

const failJob = statement.maybe(
  'emailQueue.fail',
  emailQueue,
  ['id', 'worker', 'attempts', 'error', 'retryAt'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({
        status: retryOrDead(t),
        error: sql`${$.error}`,
        claimedBy: null,
        availableAt: $.bind(t.availableAt, 'retryAt'),
      })
      .where(claimedBy(t, $))
      .returning({ emailId: t.emailId, status: t.status }),
  { serviceOnly: true },
);

/** Claims whose deadline passed: their worker vanished. */
const requeueLapsed = statement.many(
  'emailQueue.requeueExpired',
  emailQueue,
  ['now'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ status: retryOrDead(t), claimedBy: null, error: 'claim lapsed' })
      .where(and(eq(t.status, 'claimed'), lte(t.availableAt, $.now)))
      .returning({ emailId: t.emailId, status: t.status }),
  { serviceOnly: true },
);

/** The email's own status follows its job's end. */
const markEmail = statement.count(
  'emails.markDelivery',
  emails,
  ['id', 'status', 'sentAt'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ status: sql`${$.status}`, sentAt: $.bind(t.sentAt, 'sentAt') })
      .where(eq(t.id, $.id)),
  { serviceOnly: true },
);

/** The "pending emails" sample query: highest priority first, then oldest (in index order). */
const listPending = statement.many(
  'emailQueue.listPending',
  emailQueue,
  ['limit'],
  ({ db, t, $, table }) => {
    const e = table(emails);
    return db
      .select({
        id: e.id,
        subject: e.subject,
        recipients: e.recipients,
        attempts: t.attempts,
        priority: t.priority,
      })
      .from(t)
      .innerJoin(e, eq(e.id, t.emailId))
      .where(eq(t.status, 'pending'))
      .orderBy(desc(t.priority), asc(t.createdAt))
      .limit($.limit);
  },
  { serviceOnly: true, stale: true },
);

/** The statement behind the "pending emails" sample query (for plan checks). */
export const pendingEmailsQuery = listPending;

const findJob = statement.maybe(
  'emailQueue.find',
  emailQueue,
  ['id'],
  ({ db, t, $ }) => db.select().from(t).where(eq(t.id, $.id)),
  { serviceOnly: true },
);

/** Longest a claim may last, or a retry wait (a day). */
const MAX_WAIT_MS = 86_400_000;

function fence(job: ClaimedEmailJob, worker: string) {
  const given = requirePlainObject(job, 'job') as unknown as ClaimedEmailJob;
  return {
    id: requireUuid(given.id, 'job.id'),
    worker: requireText(worker, 'worker', { max: 200 }),
    attempts: requireInteger(given.attempts, 'job.attempts', { min: 1 }),
  };
}

/**
 * The email delivery queue (mail workers: a service context). `claimNext` hands each pending job
 * to exactly one worker; `complete` and `fail` are refused with `ClaimLostError` unless the job
 * is still claimed by that worker at that attempt; a failure waits `backoffMs` doubled per
 * attempt, and after `max_attempts` the job is `dead`; `requeueExpired` returns the claims of
 * workers that vanished (past their visibility timeout) to the queue.
 */
export function createEmailQueueRepository(ctx: DomainContext) {
  return {
    /** Queues an email for delivery; NotFoundError if there is no such email. */
    async enqueue(
      emailId: string,
      options: { priority?: number; maxAttempts?: number; notBefore?: Date } = {},
    ): Promise<EmailJob> {
      const params = {
        emailId: requireUuid(emailId, 'emailId'),
        priority: requireInteger(options.priority ?? 0, 'priority', { min: -1000, max: 1000 }),
        maxAttempts: requireInteger(options.maxAttempts ?? 5, 'maxAttempts', { min: 1, max: 100 }),
        availableAt: optionalDate(options.notBefore, 'notBefore') ?? new Date(),
      };
      try {
        return await run(ctx, enqueueJob, params);
      } catch (error) {
        if (error instanceof ForeignKeyViolationError) throw new NotFoundError('email');
        throw error;
      }
    },

    async get(id: string): Promise<EmailJob> {
      const job = await run(ctx, findJob, { id: requireUuid(id, 'id') });
      if (job === null) throw new NotFoundError('email job');
      return job;
    },

    /**
     * Claims up to `n` due pending jobs for `worker`, highest priority first then oldest; each
     * stays the worker's for `visibilityMs` (default 60 s), then returns to the queue.
     */
    async claimNext(
      worker: string,
      n = 1,
      options: { visibilityMs?: number } = {},
    ): Promise<ClaimedEmailJob[]> {
      const now = new Date();
      const visibility = requireInteger(options.visibilityMs ?? 60_000, 'visibilityMs', {
        min: 1,
        max: MAX_WAIT_MS,
      });
      const jobs = await run(ctx, claimJobs, {
        worker: requireText(worker, 'worker', { max: 200 }),
        now,
        until: new Date(now.getTime() + visibility),
        limit: requireInteger(n, 'n', { min: 1, max: 1000 }),
      });
      // RETURNING keeps no order: the claim order, restored.
      return jobs.sort((a, b) => b.priority - a.priority);
    },

    /** The job's email was sent: the job and the email say so. */
    async complete(job: ClaimedEmailJob, worker: string): Promise<void> {
      const params = fence(job, worker);
      await unit(ctx, 'write', async (tx) => {
        const done = await run(tx, completeJob, params);
        if (done === null) throw new ClaimLostError();
        await run(tx, markEmail, { id: done.emailId, status: 'sent', sentAt: new Date() });
      });
    },

    /**
     * The attempt failed with `error` (stored on the job): the job waits `backoffMs` (default
     * 1 s) doubled per attempt before it is claimable again, or is `dead` (and its email
     * `failed`) once its attempts are used up. Returns the job's new status.
     */
    async fail(
      job: ClaimedEmailJob,
      worker: string,
      error: string,
      options: { backoffMs?: number } = {},
    ): Promise<'pending' | 'dead'> {
      const params = fence(job, worker);
      const base = requireInteger(options.backoffMs ?? 1000, 'backoffMs', {
        min: 0,
        max: MAX_WAIT_MS,
      });
      const wait = Math.min(base * 2 ** Math.min(params.attempts - 1, 30), MAX_WAIT_MS);
      const failed = Object.assign(params, {
        error: requireText(error, 'error', { max: 10_000 }),
        retryAt: new Date(Date.now() + wait),
      });
      return unit(ctx, 'write', async (tx) => {
        const row = await run(tx, failJob, failed);
        if (row === null) throw new ClaimLostError();
        if (row.status === 'dead') {
          await run(tx, markEmail, { id: row.emailId, status: 'failed', sentAt: null });
        }
        return row.status as 'pending' | 'dead';
      });
    },

    /**
     * Returns lapsed claims (their worker vanished) to the queue, or makes them `dead` (and
     * their emails `failed`) when their attempts are used up; how many.
     */
    async requeueExpired(now?: Date): Promise<number> {
      const at = optionalDate(now, 'now') ?? new Date();
      return unit(ctx, 'write', async (tx) => {
        const lapsed = await run(tx, requeueLapsed, { now: at });
        for (const job of lapsed) {
          if (job.status !== 'dead') continue;
          await run(tx, markEmail, { id: job.emailId, status: 'failed', sentAt: null });
        }
        return lapsed.length;
      });
    },

    /** Pending jobs with their emails, in claim order (the "pending emails" sample query). */
    async listPending(limit = 100) {
      return run(ctx, listPending, {
        limit: requireInteger(limit, 'limit', { min: 1, max: 1000 }),
      });
    },
  };
}
