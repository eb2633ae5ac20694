import {
  type DomainContext,
  NotFoundError,
  optionalText,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
} from '@exora/core';
import { and, desc, eq, sql } from 'drizzle-orm';
import { type TaskLog, taskLogs } from '../schema/task-logs.ts';

const startTask = statement.one(
  'taskLogs.start',
  taskLogs,
  ['taskType', 'input', 'startTime'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({ userId: owner, taskType: $.taskType, input: $.input, startTime: $.startTime })
      .returning(),
);

const finishTask = statement.maybe(
  'taskLogs.finish',
  taskLogs,
  ['id', 'status', 'output', 'error', 'endTime'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        status: sql`${$.status}`,
        output: $.bind(t.output, 'output'),
        error: sql`${$.error}`,
        endTime: $.bind(t.endTime, 'endTime'),
      })
      .where(and(eq(t.id, $.id), eq(t.status, 'running'), owned()))
      .returning(),
);

/** The "recent task logs" sample query: a user's newest first, on `(user_id, start_time)`. */
const listRecent = statement.many(
  'taskLogs.listRecent',
  taskLogs,
  ['limit'],
  ({ db, t, $, owned }) =>
    db
      .select({
        id: t.id,
        taskType: t.taskType,
        status: t.status,
        startTime: t.startTime,
        endTime: t.endTime,
      })
      .from(t)
      .where(owned())
      .orderBy(desc(t.startTime))
      .limit($.limit),
  { stale: true },
);

/** The statement behind the "recent task logs" sample query (for plan checks). */
export const recentTaskLogsQuery = listRecent;

/** What a task did: started, then finished once with its output or its error. */
export function createTaskLogsRepository(ctx: DomainContext) {
  return {
    /** Starts a task of the user (a service names them). */
    async start(
      input: { taskType: string; input?: unknown; startTime?: Date },
      userId?: string,
    ): Promise<TaskLog> {
      const given = requirePlainObject(input, 'input');
      return run(ctx, startTask, {
        owner: userId,
        taskType: requireText(given.taskType, 'taskType', { max: 100 }),
        input: given.input ?? {},
        startTime: given.startTime ?? new Date(),
      });
    },

    /** Ends a running task; NotFoundError if it is not the user's or has already ended. */
    async finish(
      id: string,
      outcome: { status: 'succeeded' | 'failed'; output?: unknown; error?: string | null },
      userId?: string,
    ): Promise<TaskLog> {
      const given = requirePlainObject(outcome, 'outcome');
      const row = await run(ctx, finishTask, {
        owner: userId,
        id: requireUuid(id, 'id'),
        status: requireOneOf(given.status, 'status', ['succeeded', 'failed'] as const),
        output: given.output ?? null,
        error: optionalText(given.error, 'error', { max: 10_000 }) ?? null,
        endTime: new Date(),
      });
      if (row === null) throw new NotFoundError('running task');
      return row;
    },

    /** The user's latest tasks, newest start first (default 10). */
    async listRecent(limit = 10, userId?: string) {
      return run(ctx, listRecent, {
        owner: userId,
        limit: requireInteger(limit, 'limit', { min: 1, max: 1000 }),
      });
    },
  };
}
