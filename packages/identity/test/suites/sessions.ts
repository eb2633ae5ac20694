import { EventEmitter } from 'node:events';
import { PermissionError } from '@exora/core';
import { describe, expect, it } from 'vitest';
import type { SessionsRepository } from '../../src/index.ts';
import type { SuiteContext } from './context.ts';

type Callback<T = void> = (error: unknown, value?: T) => void;

/** An express-session store on the repository: these few lines are all it takes. */
class ExoraSessionStore extends EventEmitter {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly ttlMs = 86_400_000,
  ) {
    super();
  }
  private expiry(sess: { cookie?: { expires?: string | Date } }) {
    return sess.cookie?.expires ? new Date(sess.cookie.expires) : new Date(Date.now() + this.ttlMs);
  }
  get(sid: string, cb: Callback<Record<string, unknown> | null>) {
    this.sessions.get(sid).then((s) => cb(null, s), cb);
  }
  set(sid: string, sess: Record<string, unknown>, cb: Callback) {
    this.sessions.set(sid, sess, this.expiry(sess)).then(() => cb(null), cb);
  }
  touch(sid: string, sess: Record<string, unknown>, cb: Callback) {
    this.sessions.touch(sid, this.expiry(sess)).then(() => cb(null), cb);
  }
  destroy(sid: string, cb: Callback) {
    this.sessions.destroy(sid).then(() => cb(null), cb);
  }
}

const call = <T>(fn: (cb: Callback<T>) => void) =>
  new Promise<T | undefined>((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v))));

export function sessionsSuite(ctx: SuiteContext) {
  describe(`sessions (${ctx.dialect})`, () => {
    it('serves as an express-session store: set, get, touch, destroy', async () => {
      const store = new ExoraSessionStore(ctx.service().sessions);
      const sid = `sid-${Math.random()}`;
      const sess = {
        cookie: { expires: new Date(Date.now() + 60_000).toISOString() },
        userId: 'u1',
      };
      await call((cb) => store.set(sid, sess, cb));
      expect(await call<Record<string, unknown> | null>((cb) => store.get(sid, cb))).toEqual(sess);
      const later = { ...sess, cookie: { expires: new Date(Date.now() + 120_000).toISOString() } };
      await call((cb) => store.touch(sid, later, cb));
      await call((cb) => store.set(sid, { ...sess, userId: 'u2' }, cb));
      expect(await call<Record<string, unknown> | null>((cb) => store.get(sid, cb))).toMatchObject({
        userId: 'u2',
      });
      await call((cb) => store.destroy(sid, cb));
      expect(await call((cb) => store.get(sid, cb))).toBeNull();
    });

    it('hides expired sessions and purges them', async () => {
      const sessions = ctx.service().sessions;
      const past = new Date(Date.now() - 1000);
      await sessions.set('old-1', { a: 1 }, past);
      await sessions.set('old-2', { a: 2 }, past);
      await sessions.set('live-1', { a: 3 }, new Date(Date.now() + 60_000));
      expect(await sessions.get('old-1')).toBeNull();
      expect(await sessions.touch('missing', new Date())).toBe(false);
      expect(await sessions.purgeExpired()).toBeGreaterThanOrEqual(2);
      expect(await sessions.purgeExpired()).toBe(0);
      expect(await sessions.get('live-1')).toEqual({ a: 3 });
    });

    it('belongs to the session store: a user context may not touch sessions', async () => {
      const user = await ctx.service().users.create({ email: `s-${Math.random()}@x.test` });
      await expect(ctx.user(user.id).sessions.get('live-1')).rejects.toBeInstanceOf(
        PermissionError,
      );
      await expect(ctx.user(user.id).sessions.purgeExpired()).rejects.toBeInstanceOf(
        PermissionError,
      );
    });
  });
}
