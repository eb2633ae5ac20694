import { randomBytes } from 'node:crypto';
import {
  type DomainContext,
  found,
  NotFoundError,
  ownedRow,
  requirePlainObject,
  requireService,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { type CliSession, cliSessions } from '../schema/cli-sessions.ts';
import { objectOr } from './internal.ts';

/** A CLI session as repositories return it: the token's hash stays inside. */
export type PublicCliSession = Omit<CliSession, 'tokenHash'>;

/** The longest token `findByToken` looks up (a session token is 43 characters). */
const MAX_TOKEN_LENGTH = 200;

function info(t: typeof cliSessions.pg) {
  return {
    id: t.id,
    userId: t.userId,
    machineName: t.machineName,
    machineInfo: t.machineInfo,
    heartbeats: t.heartbeats,
    lastSeen: t.lastSeen,
    createdAt: t.createdAt,
  };
}

const openSession = statement.one(
  'cliSessions.open',
  cliSessions,
  ['tokenHash', 'machineName', 'machineInfo'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        tokenHash: $.tokenHash,
        machineName: $.machineName,
        machineInfo: $.machineInfo,
      })
      .returning(info(t)),
);

/** Any update of the row moves `last_seen` (a trigger): the heartbeat only counts itself. */
const beat = statement.count('cliSessions.heartbeat', cliSessions, ['id'], ({ db, t, $, owned }) =>
  db
    .update(t)
    .set({ heartbeats: sql`${t.heartbeats} + 1` })
    .where(and(eq(t.id, $.id), owned())),
);

const findOwn = statement.maybe('cliSessions.find', cliSessions, ['id'], ({ db, t, $, owned }) =>
  db
    .select(info(t))
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

/** The session a presented token opened: a service checks it before it knows the user. */
const byToken = statement.maybe(
  'cliSessions.findByToken',
  cliSessions,
  ['tokenHash'],
  ({ db, t, $ }) => db.select(info(t)).from(t).where(eq(t.tokenHash, $.tokenHash)),
  { serviceOnly: true },
);

const listOwn = statement.many(
  'cliSessions.list',
  cliSessions,
  [],
  ({ db, t, owned }) =>
    db.select(info(t)).from(t).where(owned()).orderBy(desc(t.lastSeen), desc(t.id)),
  { stale: true },
);

const closeSession = ownedRow.delete('cliSessions.close', cliSessions);

/** Every user's sessions not seen since `cutoff`: a maintenance job's sweep. */
const purge = statement.count(
  'cliSessions.purgeStale',
  cliSessions,
  ['cutoff'],
  ({ db, t, $ }) => db.delete(t).where(lt(t.lastSeen, $.bind(t.lastSeen, 'cutoff'))),
  { serviceOnly: true },
);

/** Open CLI connections: a token shown once, heartbeats, lookup by token, close, purge. */
export function createCliSessionsRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const hashToken = (token: string) => crypto.blindIndex.hash(token, { normalize: 'none' });

  return {
    /**
     * Opens a session for a machine and returns its token, shown this once (only its hash is
     * stored). A service names the user.
     */
    async open(
      input: { machineName: string; machineInfo?: Record<string, unknown> },
      userId?: string,
    ): Promise<{ session: PublicCliSession; token: string }> {
      const given = requirePlainObject(input, 'input');
      const token = randomBytes(32).toString('base64url');
      const session = await run(ctx, openSession, {
        owner: userId,
        tokenHash: hashToken(token),
        machineName: requireText(given.machineName, 'machineName', { max: 200 }),
        machineInfo: objectOr(given.machineInfo, 'machineInfo'),
      });
      return { session, token };
    },

    /** Records that the session is alive: the database moves `last_seen` to now. */
    async heartbeat(sessionId: string): Promise<PublicCliSession> {
      const id = requireUuid(sessionId, 'sessionId');
      // Read after the update: SQLite's RETURNING shows the row as it was before its AFTER
      // triggers ran, so it would not show the `last_seen` the trigger wrote.
      return unit(ctx, 'write', async (tx) => {
        if ((await run(tx, beat, { id })) === 0) throw new NotFoundError('CLI session');
        return found('CLI session', run(tx, findOwn, { id }));
      });
    },

    /** The session a presented token belongs to, or null. Service only. */
    async findByToken(presented: string): Promise<PublicCliSession | null> {
      requireService(actor, 'cliSessions.findByToken');
      if (typeof presented !== 'string') throw new ValidationError('token', 'must be a string');
      if (presented.length === 0 || presented.length > MAX_TOKEN_LENGTH) return null;
      return run(ctx, byToken, { tokenHash: hashToken(presented) });
    },

    /** The user's sessions, most recently seen first. */
    async list(userId?: string): Promise<PublicCliSession[]> {
      return run(ctx, listOwn, { owner: userId });
    },

    /** Closes (deletes) one of the user's sessions; its token stops working. */
    async close(sessionId: string): Promise<void> {
      const id = requireUuid(sessionId, 'sessionId');
      if ((await run(ctx, closeSession, { id })) === 0) {
        throw new NotFoundError('CLI session');
      }
    },

    /**
     * Deletes every session not seen for `olderThanMs` milliseconds, of every user; returns how
     * many. Service only.
     */
    async purgeStale(olderThanMs: number): Promise<number> {
      requireService(actor, 'cliSessions.purgeStale');
      if (!Number.isInteger(olderThanMs) || olderThanMs < 0) {
        throw new ValidationError('olderThanMs', 'must be a non-negative integer');
      }
      return run(ctx, purge, { cutoff: new Date(Date.now() - olderThanMs) });
    },
  };
}

export type CliSessionsRepository = ReturnType<typeof createCliSessionsRepository>;
