import {
  type DomainContext,
  found,
  optionalText,
  PreconditionError,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, desc, eq, gt, lte, or, type Placeholder, sql } from 'drizzle-orm';
import { type WorkflowRun, type WorkflowStep, workflowRuns } from '../schema/workflow-runs.ts';

/**
 * The lock was not held: the run is not there, another holder took it over after the lease
 * ended, or the holder's lease ended. Nothing was written.
 */
export class LockLostError extends PreconditionError {
  override name = 'LockLostError';
  constructor() {
    super('workflow run lock is not held by this holder');
  }
}

/** What `acquire` hands the holder: every later write shows it, and is refused if stale. */
export interface WorkflowLock {
  readonly runId: string;
  readonly holder: string;
  /** Grows with every acquisition of the run: the fencing token. */
  readonly token: number;
  readonly expiresAt: Date;
}

type Runs = typeof workflowRuns.pg;
type Slots = { readonly [K in 'id' | 'holder' | 'token' | 'now']: Placeholder };

/** The lock as the holder knows it: its name and token, and (`live`) a lease not yet ended. */
const heldBy = (t: Runs, $: Slots, live: boolean) =>
  and(
    eq(t.id, $.id),
    eq(t.locked, true),
    eq(t.lockedBy, $.holder),
    eq(t.lockToken, $.token),
    live ? gt(t.lockExpiresAt, $.now) : undefined,
  );

const lockColumns = (t: Runs) => ({
  runId: t.id,
  holder: t.lockedBy,
  token: t.lockToken,
  expiresAt: t.lockExpiresAt,
});

const createRun = statement.one(
  'workflowRuns.create',
  workflowRuns,
  ['steps', 'context'],
  ({ db, t, $, owner }) =>
    db.insert(t).values({ userId: owner, steps: $.steps, context: $.context }).returning(),
);

const findRun = statement.maybe('workflowRuns.find', workflowRuns, ['id'], ({ db, t, $, owned }) =>
  db
    .select()
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

/** The "active workflows": running and locked, latest update first (on an index). */
const listActive = statement.many(
  'workflowRuns.listActive',
  workflowRuns,
  ['limit'],
  ({ db, t, $ }) =>
    db
      .select({
        id: t.id,
        currentStep: t.currentStep,
        status: t.status,
        lastUpdated: t.lastUpdated,
      })
      .from(t)
      .where(and(eq(t.status, 'running'), eq(t.locked, true)))
      .orderBy(desc(t.lastUpdated))
      .limit($.limit),
  { serviceOnly: true, stale: true },
);

/** The statement behind the "active workflows" sample query (for plan checks). */
export const activeWorkflowsQuery = listActive;

/**
 * One statement: the row lock of the update makes concurrent acquirers wait, and each re-reads
 * the row it waited for, so only one finds it free (or its lease ended) and takes it.
 */
const acquireLock = statement.maybe(
  'workflowRuns.acquire',
  workflowRuns,
  ['id', 'holder', 'now', 'expiresAt'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({
        locked: true,
        lockedBy: sql`${$.holder}`,
        lockedAt: $.bind(t.lockedAt, 'now'),
        lockExpiresAt: $.bind(t.lockExpiresAt, 'expiresAt'),
        lockToken: sql`${t.lockToken} + 1`,
        status: 'running',
        lastUpdated: $.bind(t.lastUpdated, 'now'),
      })
      .where(
        and(
          eq(t.id, $.id),
          or(eq(t.status, 'pending'), eq(t.status, 'running')),
          or(eq(t.locked, false), lte(t.lockExpiresAt, $.now)),
        ),
      )
      .returning(lockColumns(t)),
  { serviceOnly: true },
);

const renewLock = statement.maybe(
  'workflowRuns.renew',
  workflowRuns,
  ['id', 'holder', 'token', 'now', 'expiresAt'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ lockExpiresAt: $.bind(t.lockExpiresAt, 'expiresAt') })
      .where(heldBy(t, $, true))
      .returning(lockColumns(t)),
  { serviceOnly: true },
);

const releaseLock = statement.count(
  'workflowRuns.release',
  workflowRuns,
  ['id', 'holder', 'token', 'now'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ locked: false, lockedBy: null, lockedAt: null, lockExpiresAt: null })
      .where(heldBy(t, $, false)),
  { serviceOnly: true },
);

const advanceRun = statement.maybe(
  'workflowRuns.advance',
  workflowRuns,
  ['id', 'holder', 'token', 'now', 'context'],
  ({ db, t, $, fn }) =>
    db
      .update(t)
      .set({
        currentStep: sql`${t.currentStep} + 1`,
        context: fn.jsonMerge(t.context, $.bind(t.context, 'context')),
        lastUpdated: $.bind(t.lastUpdated, 'now'),
      })
      .where(heldBy(t, $, true))
      .returning(),
  { serviceOnly: true },
);

/** Ends the run (completed or failed) and lets go of its lock, in one statement. */
const finishRun = statement.maybe(
  'workflowRuns.finish',
  workflowRuns,
  ['id', 'holder', 'token', 'now', 'status', 'error'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({
        status: sql`${$.status}`,
        lastError: sql`${$.error}`,
        lastUpdated: $.bind(t.lastUpdated, 'now'),
        locked: false,
        lockedBy: null,
        lockedAt: null,
        lockExpiresAt: null,
      })
      .where(heldBy(t, $, true))
      .returning(),
  { serviceOnly: true },
);

/** Longest lease a holder may ask for (a day): a crashed holder blocks the run at most that. */
const MAX_LEASE_MS = 86_400_000;

function lockParams(runId: string, lock: WorkflowLock, now: Date) {
  const given = requirePlainObject(lock, 'lock') as unknown as WorkflowLock;
  return {
    id: requireUuid(runId, 'runId'),
    holder: requireText(given.holder, 'holder', { max: 200 }),
    token: requireInteger(given.token, 'token', { min: 1 }),
    now,
  };
}

const held = async <T>(result: Promise<T | null>): Promise<T> => {
  const row = await result;
  if (row === null) throw new LockLostError();
  return row;
};

export interface CreateWorkflowRunInput {
  steps: WorkflowStep[];
  context?: Record<string, unknown>;
}

/**
 * Stateful workflow runs. A user (or a service naming one) creates and reads them; workers (a
 * service context) execute them under the run's lock: `acquire` gives exactly one holder a
 * lease and a fencing token, and `renew`, `advance`, `finish` and `release` are refused with
 * `LockLostError` unless that holder still holds that token (and, but for `release`, a lease
 * that has not ended).
 */
export function createWorkflowRunsRepository(ctx: DomainContext) {
  return {
    async create(input: CreateWorkflowRunInput, userId?: string): Promise<WorkflowRun> {
      const given = requirePlainObject(input, 'input') as unknown as CreateWorkflowRunInput;
      if (!Array.isArray(given.steps)) throw new ValidationError('steps', 'must be an array');
      return run(ctx, createRun, {
        owner: userId,
        steps: given.steps,
        context: given.context === undefined ? {} : requirePlainObject(given.context, 'context'),
      });
    },

    /** The run (the acting user's, or for a service the user it names), or NotFoundError. */
    async get(id: string, userId?: string): Promise<WorkflowRun> {
      return found('workflow run', run(ctx, findRun, { owner: userId, id: requireUuid(id, 'id') }));
    },

    /** Running, locked runs of every user, the latest update first (service). */
    async listActive(limit = 100) {
      return run(ctx, listActive, { limit: requireInteger(limit, 'limit', { min: 1, max: 1000 }) });
    },

    /**
     * Takes the run's lock for `holder` for `leaseMs`, if it is free or its lease has ended (a
     * crashed holder's); the run becomes `running`. Null when another holder has it, or the run
     * is not there or has ended.
     */
    async acquire(runId: string, holder: string, leaseMs: number): Promise<WorkflowLock | null> {
      const now = new Date();
      const lease = requireInteger(leaseMs, 'leaseMs', { min: 1, max: MAX_LEASE_MS });
      return run(ctx, acquireLock, {
        id: requireUuid(runId, 'runId'),
        holder: requireText(holder, 'holder', { max: 200 }),
        now,
        expiresAt: new Date(now.getTime() + lease),
      }) as Promise<WorkflowLock | null>;
    },

    /** Extends a held lease to `leaseMs` from now. */
    async renew(lock: WorkflowLock, leaseMs: number): Promise<WorkflowLock> {
      const now = new Date();
      const lease = requireInteger(leaseMs, 'leaseMs', { min: 1, max: MAX_LEASE_MS });
      const params = Object.assign(lockParams(lock.runId, lock, now), {
        expiresAt: new Date(now.getTime() + lease),
      });
      return held(run(ctx, renewLock, params) as Promise<WorkflowLock | null>);
    },

    /** Lets go of the lock (only its holder, with its token, may). */
    async release(lock: WorkflowLock): Promise<void> {
      const n = await run(ctx, releaseLock, lockParams(lock.runId, lock, new Date()));
      if (n !== 1) throw new LockLostError();
    },

    /** Moves the run to its next step, merging `context` into its context, under the lock. */
    async advance(lock: WorkflowLock, context: Record<string, unknown> = {}): Promise<WorkflowRun> {
      const params = Object.assign(lockParams(lock.runId, lock, new Date()), {
        context: requirePlainObject(context, 'context'),
      });
      return held(run(ctx, advanceRun, params));
    },

    /** Ends the run as completed or failed (with its error) and releases the lock. */
    async finish(
      lock: WorkflowLock,
      outcome: { status: 'completed' | 'failed'; error?: string | null },
    ): Promise<WorkflowRun> {
      const given = requirePlainObject(outcome, 'outcome');
      const params = Object.assign(lockParams(lock.runId, lock, new Date()), {
        status: requireOneOf(given.status, 'status', ['completed', 'failed'] as const),
        error: optionalText(given.error, 'error', { max: 10_000 }) ?? null,
      });
      return held(run(ctx, finishRun, params));
    },
  };
}
