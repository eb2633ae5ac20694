import {
  createdAt,
  id,
  index,
  integer,
  json,
  nowSql,
  ownedByUser,
  table,
  text,
  timestamp,
  unique,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/**
 * An open CLI connection of a user. The session token is shown once when it opens; only its
 * HMAC (blind index) is stored. `last_seen` is moved by the database on every update of the row
 * (a heartbeat increments `heartbeats`), so stale sessions are those not seen for a while.
 */
export const cliSessions = table(
  'cli_sessions',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    tokenHash: text().notNull(),
    machineName: text().notNull(),
    machineInfo: json<Record<string, unknown>>().notNull().default({}),
    heartbeats: integer().notNull().default(0),
    lastSeen: timestamp().notNull().defaultSql(nowSql).touchOnUpdate(),
    createdAt: createdAt(),
  },
  (t) => [
    unique('cli_sessions_token_hash_unique').on(t.tokenHash),
    index('cli_sessions_user_idx').on(t.userId, t.createdAt),
    // The stale-session purge.
    index('cli_sessions_last_seen_idx').on(t.lastSeen),
    ownedByUser(t.userId),
  ],
);

export type CliSession = typeof cliSessions.pg.$inferSelect;
export type NewCliSession = typeof cliSessions.pg.$inferInsert;
