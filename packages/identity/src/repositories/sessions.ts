import {
  actAs,
  driverValue,
  requireDate,
  requirePlainObject,
  requireService,
  requireText,
} from '@exora/core';
import { and, eq, gt, lte, sql } from 'drizzle-orm';
import type { DomainContext } from '../context.ts';
import { sessions } from '../schema/sessions.ts';

/**
 * Seed 004's express-session rows. Only the session store touches them, so every method needs
 * a service context. `get` ignores expired rows; `purgeExpired` deletes them.
 */
export function createSessionsRepository(ctx: DomainContext) {
  const { actor } = ctx;
  const sid = (value: unknown) => requireText(value, 'sid', { max: 255 });

  return {
    async get(sessionId: string, now = new Date()): Promise<Record<string, unknown> | null> {
      requireService(actor, 'sessions.get');
      const id = sid(sessionId);
      return actAs(ctx.exec, actor, async (tx) => {
        // Every request reads its session: a prepared statement (server-side on Postgres).
        const t = tx.table(sessions);
        const query = tx.prepared('identity.sessions.get', (d) =>
          d
            .select({ sess: t.sess })
            .from(t)
            .where(and(eq(t.sid, sql.placeholder('sid')), gt(t.expire, sql.placeholder('now'))))
            .prepare('identity_sessions_get'),
        );
        const [row] = await query.execute({ sid: id, now: driverValue(t.expire, now) });
        return row?.sess ?? null;
      });
    },

    async set(sessionId: string, sess: Record<string, unknown>, expire: Date): Promise<void> {
      requireService(actor, 'sessions.set');
      const values = {
        sid: sid(sessionId),
        sess: requirePlainObject(sess, 'sess'),
        expire: requireDate(expire, 'expire'),
      };
      await actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(sessions);
        await tx.db
          .insert(t)
          .values(values)
          .onConflictDoUpdate({ target: t.sid, set: { sess: values.sess, expire: values.expire } });
      });
    },

    /** Extends a live session; returns false when there is none. */
    async touch(sessionId: string, expire: Date): Promise<boolean> {
      requireService(actor, 'sessions.touch');
      const id = sid(sessionId);
      const until = requireDate(expire, 'expire');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(sessions);
        const rows = await tx.db
          .update(t)
          .set({ expire: until })
          .where(eq(t.sid, id))
          .returning({ sid: t.sid });
        return rows.length > 0;
      });
    },

    async destroy(sessionId: string): Promise<void> {
      requireService(actor, 'sessions.destroy');
      const id = sid(sessionId);
      await actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(sessions);
        await tx.db.delete(t).where(eq(t.sid, id));
      });
    },

    /** Deletes every session expired at `now`; returns how many. */
    async purgeExpired(now = new Date()): Promise<number> {
      requireService(actor, 'sessions.purgeExpired');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(sessions);
        const rows = await tx.db.delete(t).where(lte(t.expire, now)).returning({ sid: t.sid });
        return rows.length;
      });
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
