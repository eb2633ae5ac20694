import {
  createdAt,
  id,
  index,
  json,
  nowSql,
  ownedByUser,
  table,
  text,
  textEnum,
  timestamp,
  uuid,
  varchar,
} from '@exora/core';
import { users } from '@exora/identity/schema';

export const TASK_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** One execution of a task: started, then finished with its output or its error. */
export const taskLogs = table(
  'task_logs',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    taskType: varchar(100).notNull(),
    input: json<unknown>().notNull().default({}),
    output: json<unknown>(),
    status: textEnum(TASK_STATUSES).notNull().default('running'),
    error: text(),
    startTime: timestamp().notNull().defaultSql(nowSql),
    endTime: timestamp(),
    createdAt: createdAt(),
  },
  (t) => [
    // Recent task logs of a user: newest start first (read backwards).
    index('task_logs_user_start_idx').on(t.userId, t.startTime),
    ownedByUser(t.userId),
  ],
);

export type TaskLog = typeof taskLogs.pg.$inferSelect;
export type NewTaskLog = typeof taskLogs.pg.$inferInsert;
