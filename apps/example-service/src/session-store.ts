import type { ExoraDb } from '@exora/db';
import type { Session } from 'fastify';

type Callback = (error?: unknown) => void;

/** How long a session lives when its cookie has no expiry of its own (a browser session). */
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * The express-session store interface (`get`, `set`, `destroy` with callbacks), which
 * @fastify/session takes as it is, kept in the `sessions` table (`sid`, `sess`, `expire`: the
 * shape connect-pg-simple uses) through the sessions repository. Only the store touches that
 * table, as a service context.
 */
export class ExoraSessionStore {
  readonly #sessions: ExoraDb['asService'] extends (reason: string) => infer R
    ? R extends { sessions: infer S }
      ? S
      : never
    : never;

  constructor(db: ExoraDb) {
    this.#sessions = db.asService('session store').sessions;
  }

  get(sessionId: string, callback: (error: unknown, session?: Session | null) => void): void {
    this.#sessions.get(sessionId).then(
      (sess) => callback(null, (sess as Session | null) ?? null),
      (error: unknown) => callback(error),
    );
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    // The session object carries its cookie (with `expires`): stored as plain JSON.
    const sess = JSON.parse(JSON.stringify(session)) as Record<string, unknown>;
    const cookie = sess.cookie as { expires?: string | null } | undefined;
    const expire = cookie?.expires
      ? new Date(cookie.expires)
      : new Date(Date.now() + DEFAULT_TTL_MS);
    this.#sessions.set(sessionId, sess, expire).then(() => callback(), callback);
  }

  destroy(sessionId: string, callback: Callback): void {
    this.#sessions.destroy(sessionId).then(() => callback(), callback);
  }
}
