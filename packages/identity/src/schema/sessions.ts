import { index, json, serviceOnly, table, timestamp, varchar } from '@exora/core';

/**
 * `sessions`: the shape express-session stores such as connect-pg-simple use
 * (`sid`, `sess`, `expire`). Written only by the session store, a service context.
 */
export const sessions = table(
  'sessions',
  {
    sid: varchar(255).primaryKey(),
    sess: json<Record<string, unknown>>().notNull(),
    expire: timestamp().notNull(),
  },
  (t) => [index('sessions_expire_idx').on(t.expire), serviceOnly()],
);

export type Session = typeof sessions.pg.$inferSelect;
export type NewSession = typeof sessions.pg.$inferInsert;
