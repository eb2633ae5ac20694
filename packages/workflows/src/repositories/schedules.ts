import {
  type DomainContext,
  ForeignKeyViolationError,
  NotFoundError,
  optionalDate,
  requireInteger,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { Cron } from 'croner';
import { and, asc, eq, lte } from 'drizzle-orm';
import { type Schedule, schedules } from '../schema/schedules.ts';

// croner (not cron-parser): no dependencies, its own types, IANA time zones through Intl, and
// 5- or 6-field expressions (seconds optional); a parsed expression is reused for every firing.
const parsed = new Map<string, Cron>();

/**
 * The first firing of `cron` (read in `timezone`) strictly after `after`; null when the
 * expression never fires again. An expression or zone croner rejects is a ValidationError
 * naming the field (never its value).
 */
export function nextCronRun(cron: string, timezone: string, after: Date): Date | null {
  const key = `${timezone}\n${cron}`;
  let job = parsed.get(key);
  if (!job) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      throw new ValidationError('timezone', 'must be an IANA time zone name');
    }
    try {
      job = new Cron(cron, { timezone, paused: true });
    } catch {
      throw new ValidationError('cron', 'must be a valid cron expression');
    }
    if (parsed.size >= 1000) parsed.clear();
    parsed.set(key, job);
  }
  return job.nextRun(after);
}

const createSchedule = statement.one(
  'schedules.create',
  schedules,
  ['workflowRunId', 'cron', 'timezone', 'nextRun', 'active'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        workflowRunId: $.workflowRunId,
        cron: $.cron,
        timezone: $.timezone,
        nextRun: $.nextRun,
        active: $.active,
      })
      .returning(),
);

const listSchedules = statement.many(
  'schedules.list',
  schedules,
  ['limit'],
  ({ db, t, $, owned }) =>
    db.select().from(t).where(owned()).orderBy(asc(t.nextRun), asc(t.id)).limit($.limit),
  { stale: true },
);

const setActive = statement.maybe(
  'schedules.setActive',
  schedules,
  ['id', 'active'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ active: $.bind(t.active, 'active') })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

/** Due schedules, earliest first, claimed for the transaction (others skip them). */
const dueSchedules = statement.many(
  'schedules.due',
  schedules,
  ['now', 'limit'],
  ({ db, t, $, fn }) =>
    fn.skipLocked(
      db
        .select({
          id: t.id,
          userId: t.userId,
          workflowRunId: t.workflowRunId,
          cron: t.cron,
          timezone: t.timezone,
          nextRun: t.nextRun,
        })
        .from(t)
        .where(and(eq(t.active, true), lte(t.nextRun, $.now)))
        .orderBy(asc(t.nextRun))
        .limit($.limit),
    ),
  { serviceOnly: true },
);

const moveSchedule = statement.count(
  'schedules.move',
  schedules,
  ['id', 'now', 'nextRun', 'active'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({
        lastRun: $.bind(t.lastRun, 'now'),
        nextRun: $.bind(t.nextRun, 'nextRun'),
        active: $.bind(t.active, 'active'),
      })
      .where(eq(t.id, $.id)),
  { serviceOnly: true },
);

export interface CreateScheduleInput {
  workflowRunId: string;
  cron: string;
  /** IANA zone the expression is read in (default UTC). */
  timezone?: string;
  active?: boolean;
}

/** A schedule handed to one scheduler: fire its run now. */
export interface DueSchedule {
  readonly id: string;
  readonly userId: string;
  readonly workflowRunId: string;
  /** When it was due (its `next_run` before the claim). */
  readonly dueAt: Date;
  /** Its next firing after this one; null when the expression never fires again (deactivated). */
  readonly nextRun: Date | null;
}

/**
 * Cron schedules of workflow runs. Users create and list their own; schedulers (a service
 * context) call `claimDue`, which hands each due schedule to exactly one of them.
 */
export function createSchedulesRepository(ctx: DomainContext) {
  return {
    /** Schedules one of the user's runs; NotFoundError if the run is not theirs. */
    async create(input: CreateScheduleInput, userId?: string): Promise<Schedule> {
      const given = requirePlainObject(input, 'input') as unknown as CreateScheduleInput;
      const cron = requireText(given.cron, 'cron', { max: 200 });
      const timezone =
        given.timezone === undefined
          ? 'UTC'
          : requireText(given.timezone, 'timezone', { max: 100 });
      const nextRun = nextCronRun(cron, timezone, new Date());
      if (nextRun === null) throw new ValidationError('cron', 'never fires after now');
      try {
        return await run(ctx, createSchedule, {
          owner: userId,
          workflowRunId: requireUuid(given.workflowRunId, 'workflowRunId'),
          cron,
          timezone,
          nextRun,
          active: given.active ?? true,
        });
      } catch (error) {
        if (error instanceof ForeignKeyViolationError) throw new NotFoundError('workflow run');
        throw error;
      }
    },

    /** The user's schedules, next firing first. */
    async list(options: { limit?: number } = {}, userId?: string): Promise<Schedule[]> {
      const limit = requireInteger(options.limit ?? 100, 'limit', { min: 1, max: 1000 });
      return run(ctx, listSchedules, { owner: userId, limit });
    },

    /**
     * Pauses or resumes a schedule. A resumed schedule whose next run has passed fires once at
     * the next claim, then moves on from then.
     */
    async setActive(id: string, active: boolean, userId?: string): Promise<Schedule> {
      if (typeof active !== 'boolean') throw new ValidationError('active', 'must be a boolean');
      const row = await run(ctx, setActive, { owner: userId, id: requireUuid(id, 'id'), active });
      if (row === null) throw new NotFoundError('schedule');
      return row;
    },

    /**
     * Claims up to `limit` schedules due at `now` (service) and moves each one's `next_run` to
     * its next firing after `now`, in one transaction: a schedule another scheduler has claimed
     * is skipped (Postgres `FOR UPDATE SKIP LOCKED`; SQLite holds the write lock), and once the
     * transaction commits it is no longer due. A schedule missed several times fires once.
     */
    async claimDue(now?: Date, limit = 100): Promise<DueSchedule[]> {
      const at = optionalDate(now, 'now') ?? new Date();
      const n = requireInteger(limit, 'limit', { min: 1, max: 1000 });
      return unit(ctx, 'write', async (tx) => {
        const due = await run(tx, dueSchedules, { now: at, limit: n });
        const claimed: DueSchedule[] = [];
        for (const s of due) {
          const next = nextCronRun(s.cron, s.timezone, at);
          await run(tx, moveSchedule, {
            id: s.id,
            now: at,
            nextRun: next ?? s.nextRun,
            active: next !== null,
          });
          claimed.push({
            id: s.id,
            userId: s.userId,
            workflowRunId: s.workflowRunId,
            dueAt: s.nextRun,
            nextRun: next,
          });
        }
        return claimed;
      });
    },
  };
}
