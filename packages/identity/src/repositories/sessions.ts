import {
  type DomainContext,
  requireDate,
  requirePlainObject,
  requireService,
  requireText,
  run,
  statement,
} from '@exora/core';
import { and, eq, gt, lte } from 'drizzle-orm';
import { sessions } from '../schema/sessions.ts';

const service = { serviceOnly: true } as const;

const getSession = statement.maybe(
  'sessions.get',
  sessions,
  ['sid', 'now'],
  ({ db, t, $ }) =>
    db
      .select({ sess: t.sess })
      .from(t)
      .where(and(eq(t.sid, $.sid), gt(t.expire, $.now))),
  service,
);

const setSession = statement.count(
  'sessions.set',
  sessions,
  ['sid', 'sess', 'expire'],
  ({ db, t, $, excluded }) =>
    db
      .insert(t)
      .values({ sid: $.sid, sess: $.sess, expire: $.expire })
      .onConflictDoUpdate({
        target: t.sid,
        set: { sess: excluded(t.sess), expire: excluded(t.expire) },
      }),
  service,
);

const touchSession = statement.count(
  'sessions.touch',
  sessions,
  ['expire', 'sid'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ expire: $.bind(t.expire, 'expire') })
      .where(eq(t.sid, $.sid)),
  service,
);

const destroySession = statement.count(
  'sessions.destroy',
  sessions,
  ['sid'],
  ({ db, t, $ }) => db.delete(t).where(eq(t.sid, $.sid)),
  service,
);

const purge = statement.count(
  'sessions.purgeExpired',
  sessions,
  ['now'],
  ({ db, t, $ }) => db.delete(t).where(lte(t.expire, $.now)),
  service,
);

/**
 * Express-session rows (`sid`, `sess`, `expire`). Only the session store touches them, so every
 * method needs a service context. `get` ignores expired rows; `purgeExpired` deletes them.
 */
export function createSessionsRepository(ctx: DomainContext) {
  const sid = (value: unknown) => requireText(value, 'sid', { max: 255 });
  const service = (what: string) => requireService(ctx.actor, what);

  return {
    async get(sessionId: string, now: Date = new Date()): Promise<Record<string, unknown> | null> {
      service('sessions.get');
      const row = await run(ctx, getSession, {
        sid: sid(sessionId),
        now: requireDate(now, 'now'),
      });
      return row?.sess ?? null;
    },

    async set(sessionId: string, sess: Record<string, unknown>, expire: Date): Promise<void> {
      service('sessions.set');
      await run(ctx, setSession, {
        sid: sid(sessionId),
        sess: requirePlainObject(sess, 'sess'),
        expire: requireDate(expire, 'expire'),
      });
    },

    /** Extends a live session; returns false when there is none. */
    async touch(sessionId: string, expire: Date): Promise<boolean> {
      service('sessions.touch');
      const changed = await run(ctx, touchSession, {
        sid: sid(sessionId),
        expire: requireDate(expire, 'expire'),
      });
      return changed > 0;
    },

    async destroy(sessionId: string): Promise<void> {
      service('sessions.destroy');
      await run(ctx, destroySession, { sid: sid(sessionId) });
    },

    /** Deletes every session expired at `now`; returns how many. */
    async purgeExpired(now: Date = new Date()): Promise<number> {
      service('sessions.purgeExpired');
      return run(ctx, purge, { now: requireDate(now, 'now') });
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
