/**
 * The example backend: sign-up, sign-in with a session cookie kept in the `sessions` table,
 * an OAuth grant saved and read back, the user's notifications. Every request acts through
 * `db.forUser(<the session's user>)`, so a cookie can only ever reach its own user's rows.
 */

import { type ExoraDb, ExoraDbError } from '@exora/db';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ExoraSessionStore } from './session-store.ts';

declare module 'fastify' {
  interface Session {
    userId?: string;
  }
}

export interface AppOptions {
  /** Signs the session cookie: at least 32 characters. */
  sessionSecret: string;
  /** Send the cookie only over HTTPS (default: when NODE_ENV is production). */
  secureCookie?: boolean;
}

/** HTTP status for each stable error code of @exora/db; anything else is a 500. */
const STATUS: Record<string, number> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  PRECONDITION_FAILED: 409,
  PERMISSION_DENIED: 403,
  UNIQUE_VIOLATION: 409,
  DATABASE_BUSY: 503,
  CONNECTION_FAILED: 503,
};

const credentials = {
  type: 'object',
  required: ['email', 'password'],
  properties: { email: { type: 'string' }, password: { type: 'string' } },
} as const;

const grant = {
  type: 'object',
  required: ['accessToken'],
  properties: {
    accessToken: { type: 'string' },
    refreshToken: { type: 'string' },
    expiresAt: { type: 'string', format: 'date-time' },
    scopes: { type: 'array', items: { type: 'string' } },
  },
} as const;

interface Credentials {
  email: string;
  password: string;
}

interface Grant {
  accessToken: string;
  refreshToken?: string;
  expiresAt?: string;
  scopes?: string[];
}

/** The signed-in user's repositories, or a 401 (the reply is sent). */
function repositoriesOf(db: ExoraDb, request: FastifyRequest, reply: FastifyReply) {
  const userId = request.session.get('userId');
  if (!userId) {
    reply.code(401).send({ error: 'SIGNED_OUT' });
    return null;
  }
  return db.forUser(userId);
}

export async function buildApp(db: ExoraDb, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  await app.register(fastifySession, {
    secret: options.sessionSecret,
    store: new ExoraSessionStore(db),
    saveUninitialized: false,
    cookie: {
      secure: options.secureCookie ?? process.env.NODE_ENV === 'production',
      httpOnly: true,
      sameSite: 'lax',
      maxAge: 7 * 24 * 60 * 60 * 1000,
    },
  });

  // Errors carry a stable code and never a value: safe to name to the client.
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof ExoraDbError) {
      return reply.code(STATUS[error.code] ?? 500).send({ error: error.code });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status < 500) return reply.code(status).send({ error: 'BAD_REQUEST' });
    return reply.code(500).send({ error: 'INTERNAL' });
  });

  app.post<{ Body: Credentials }>(
    '/signup',
    { schema: { body: credentials } },
    async (request, reply) => {
      const signup = db.asService('signup');
      const user = await signup.users.create(request.body);
      await signup.userNotifications.create(
        { type: 'welcome', title: 'Welcome to Exora', body: 'Connect a provider to start.' },
        user.id,
      );
      await request.session.regenerate();
      request.session.set('userId', user.id);
      return reply.code(201).send({ id: user.id, email: user.email });
    },
  );

  app.post<{ Body: Credentials }>(
    '/signin',
    { schema: { body: credentials } },
    async (request, reply) => {
      const user = await db
        .asService('login')
        .users.authenticate(request.body.email, request.body.password);
      if (!user) return reply.code(401).send({ error: 'WRONG_CREDENTIALS' });
      // A new session id at sign-in: a cookie planted before cannot ride on this login.
      await request.session.regenerate();
      request.session.set('userId', user.id);
      return { id: user.id, email: user.email };
    },
  );

  app.post('/signout', async (request, reply) => {
    await request.session.destroy();
    return reply.code(204).send();
  });

  app.get('/me', async (request, reply) => {
    const me = repositoriesOf(db, request, reply);
    if (!me) return reply;
    const user = await me.users.findById(request.session.get('userId') as string);
    if (!user) return reply.code(404).send({ error: 'NOT_FOUND' });
    return { id: user.id, email: user.email };
  });

  app.put<{ Params: { provider: string }; Body: Grant }>(
    '/oauth/:provider',
    { schema: { body: grant } },
    async (request, reply) => {
      const me = repositoriesOf(db, request, reply);
      if (!me) return reply;
      const { accessToken, refreshToken, expiresAt, scopes } = request.body;
      await me.oauthTokens.save({
        provider: request.params.provider,
        accessToken,
        // Left out when the provider sent none: the stored refresh token is kept.
        ...(refreshToken === undefined ? {} : { refreshToken }),
        ...(scopes === undefined ? {} : { scopes }),
        expiresAt: expiresAt ? new Date(expiresAt) : null,
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { provider: string } }>('/oauth/:provider', async (request, reply) => {
    const me = repositoriesOf(db, request, reply);
    if (!me) return reply;
    const token = await me.oauthTokens.getDecrypted(request.params.provider);
    if (!token) return reply.code(404).send({ error: 'NOT_FOUND' });
    return {
      provider: token.provider,
      accessToken: token.accessToken,
      hasRefreshToken: token.refreshToken !== null,
      expiresAt: token.expiresAt,
    };
  });

  app.get<{ Querystring: { cursor?: string } }>('/notifications', async (request, reply) => {
    const me = repositoriesOf(db, request, reply);
    if (!me) return reply;
    return me.userNotifications.list({ cursor: request.query.cursor ?? null });
  });

  return app;
}
