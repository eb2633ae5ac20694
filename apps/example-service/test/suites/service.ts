/**
 * The example service over real HTTP (a free port, fetch), on a database pushed by the CLI as
 * a deployment would be: sign-up and sign-in set a session cookie whose session lives in the
 * `sessions` table; with it a user saves and reads an OAuth grant and lists notifications; one
 * user's cookie never reads another's data; no cookie, a forged one or a signed-out one is 401.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Dialect, workspaceRoot } from '@exora/core';
import { createEmptyDatabase, type TestDatabase } from '@exora/core/testing';
import { createTestEnv } from '@exora/crypto/testing';
import { createDb, type ExoraDb } from '@exora/db';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';

const run = promisify(execFile);

interface Client {
  cookie: string | null;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
}

export function serviceSuite(dialect: Dialect) {
  describe(`example service over HTTP (${dialect})`, () => {
    let empty: TestDatabase | undefined;
    let dir: string | undefined;
    let db: ExoraDb;
    let app: FastifyInstance;
    let base: string;

    beforeAll(async () => {
      let url: string;
      if (dialect === 'sqlite') {
        dir = mkdtempSync(join(tmpdir(), 'exora-example-'));
        url = join(dir, 'service.db');
      } else {
        empty = await createEmptyDatabase('postgres');
        url = empty.url;
        await empty.db.close();
      }
      // As a deployment does: the CLI brings the database to the schema first.
      await run('pnpm', ['db:push', '--url', url], { cwd: workspaceRoot() });
      db = createDb({ url, env: createTestEnv() });
      await db.ready();
      app = await buildApp(db, { sessionSecret: randomBytes(32).toString('hex') });
      base = await app.listen({ port: 0, host: '127.0.0.1' });
    });

    afterAll(async () => {
      await app?.close();
      await db?.close();
      await empty?.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    function client(): Client {
      const c: Client = {
        cookie: null,
        async call(method, path, body) {
          const headers: Record<string, string> = {};
          if (body !== undefined) headers['content-type'] = 'application/json';
          if (c.cookie) headers.cookie = c.cookie;
          const response = await fetch(`${base}${path}`, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const set = response.headers.getSetCookie().find((v) => v.startsWith('sessionId='));
          if (set) c.cookie = set.split(';')[0] ?? null;
          const text = await response.text();
          return { status: response.status, json: text ? JSON.parse(text) : null };
        },
      };
      return c;
    }

    const signUp = async () => {
      const c = client();
      const email = `user.${randomUUID().slice(0, 8)}@example.com`;
      const res = await c.call('POST', '/signup', { email, password: 'correct horse battery' });
      expect(res.status).toBe(201);
      expect(c.cookie).toMatch(/^sessionId=/);
      return { c, email, id: (res.json as { id: string }).id };
    };

    it('signs up, keeps the session in the sessions table, and knows the user by cookie', async () => {
      const { c, email, id } = await signUp();
      expect(await c.call('GET', '/me')).toEqual({ status: 200, json: { id, email } });
      const sessions = db.database.table(db.schema.sessions);
      const rows = await db.rawDrizzle.select({ sess: sessions.sess }).from(sessions);
      expect(rows.some((r) => (r.sess as { userId?: string }).userId === id)).toBe(true);
    });

    it('signs in with the right password only, with a new session', async () => {
      const { email, id } = await signUp();
      const c = client();
      const wrong = await c.call('POST', '/signin', { email, password: 'wrong password!' });
      expect(wrong).toEqual({ status: 401, json: { error: 'WRONG_CREDENTIALS' } });
      expect(c.cookie).toBeNull();
      const right = await c.call('POST', '/signin', { email, password: 'correct horse battery' });
      expect(right).toEqual({ status: 200, json: { id, email } });
      expect((await c.call('GET', '/me')).json).toEqual({ id, email });
    });

    it('saves an OAuth grant and reads it back decrypted; lists the welcome notification', async () => {
      const { c } = await signUp();
      const expiresAt = new Date(Date.now() + 3600_000).toISOString();
      const saved = await c.call('PUT', '/oauth/google', {
        accessToken: 'ya29.example-access-token',
        refreshToken: '1//example-refresh-token',
        expiresAt,
      });
      expect(saved.status).toBe(204);
      expect(await c.call('GET', '/oauth/google')).toEqual({
        status: 200,
        json: {
          provider: 'google',
          accessToken: 'ya29.example-access-token',
          hasRefreshToken: true,
          expiresAt,
        },
      });
      const page = (await c.call('GET', '/notifications')).json as {
        items: { type: string; title: string }[];
        nextCursor: string | null;
      };
      expect(page.items.map((n) => n.type)).toEqual(['welcome']);
      expect(page.nextCursor).toBeNull();
    });

    it("one user's cookie never reads another user's grant or notifications", async () => {
      const ada = await signUp();
      const bob = await signUp();
      await ada.c.call('PUT', '/oauth/github', { accessToken: 'gho_ada_only' });
      expect((await ada.c.call('GET', '/oauth/github')).status).toBe(200);
      expect(await bob.c.call('GET', '/oauth/github')).toEqual({
        status: 404,
        json: { error: 'NOT_FOUND' },
      });
      const adaItems = (await ada.c.call('GET', '/notifications')).json as {
        items: { id: string }[];
      };
      const bobItems = (await bob.c.call('GET', '/notifications')).json as {
        items: { id: string }[];
      };
      expect(adaItems.items).toHaveLength(1);
      expect(bobItems.items).toHaveLength(1);
      expect(bobItems.items[0]?.id).not.toBe(adaItems.items[0]?.id);
      expect((await bob.c.call('GET', '/me')).json).toEqual({ id: bob.id, email: bob.email });
    });

    it('refuses no cookie, a forged cookie and a signed-out cookie', async () => {
      const anonymous = client();
      expect((await anonymous.call('GET', '/notifications')).status).toBe(401);
      const forged = client();
      forged.cookie = `sessionId=${randomBytes(24).toString('base64url')}.forged`;
      expect((await forged.call('GET', '/oauth/google')).status).toBe(401);
      const { c } = await signUp();
      const cookie = c.cookie;
      expect((await c.call('POST', '/signout')).status).toBe(204);
      c.cookie = cookie; // replaying the cookie the browser was told to forget
      expect((await c.call('GET', '/me')).status).toBe(401);
    });

    it('answers invalid input with 400 and a duplicate email with 409, naming no value', async () => {
      const c = client();
      const bad = await c.call('POST', '/signup', { email: 'not-an-email', password: 'x' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.json)).not.toContain('not-an-email');
      const { email } = await signUp();
      const again = await client().call('POST', '/signup', {
        email,
        password: 'correct horse battery',
      });
      expect(again).toEqual({ status: 409, json: { error: 'UNIQUE_VIOLATION' } });
    });
  });
}
