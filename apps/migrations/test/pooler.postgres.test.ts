/**
 * No session state outlives a transaction through a transaction-mode pooler: two users' calls,
 * interleaved over PgBouncer with one server connection, never see each other's actor settings
 * or rows, and a transaction without an actor sees neither. A session-level setting, which the
 * engine never makes, does leak there: the check below would see it.
 */
import { connect } from '@exora/core';
import type { PublicUser } from '@exora/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, platform } from './suites/platform.ts';

interface Seen {
  pid: number;
  user: string | null;
  service: string | null;
  owners: string[];
}

describe('through a transaction-mode PgBouncer with one server connection (postgres)', () => {
  let p: Platform;
  let ada: PublicUser;
  let bob: PublicUser;

  beforeAll(async () => {
    // The harness's own PgBouncer even when TEST_POOLER_URL is set: a pool of exactly one.
    p = await platform('postgres', { poolerSize: 1, ownPooler: true });
    const signup = p.db.asService('signup');
    ada = await signup.users.create({ email: `pooler-ada-${Date.now()}@example.test` });
    bob = await signup.users.create({ email: `pooler-bob-${Date.now()}@example.test` });
    for (const user of [ada, bob]) {
      await p.db.forUser(user.id).projects.create({ name: `${user.id} project`, totalSteps: 1 });
    }
  });
  afterAll(async () => {
    await p?.dispose();
  });

  it('checks the database at start-up through it (ready())', async () => {
    await expect(p.db.ready()).resolves.toBeUndefined();
    expect(p.db.database.safeUrl).not.toContain('pooler');
  });

  /** One transaction as the application role: the actor (if any), then what it sees. */
  const look = (actor: string | null) =>
    p.app!.transaction(async (tx) => {
      if (actor) await tx.execute(sql`select exora_set_actor(${actor}, null, false)`);
      const [row] = await tx.execute<Omit<Seen, 'owners'>>(
        sql`select pg_backend_pid() as pid, nullif(current_setting('app.user_id', true), '') as "user",
          nullif(current_setting('app.service', true), '') as service`,
      );
      const owners = await tx.execute<{ userId: string }>(
        sql`select distinct user_id as "userId" from projects`,
      );
      return { ...row!, owners: owners.map((o) => o.userId) } as Seen;
    });

  it('interleaved raw transactions of two actors and of none never see each other', async () => {
    const seen: { actor: string | null; got: Seen }[] = [];
    for (let round = 0; round < 25; round++) {
      // All at once: the pooler runs them one after the other on its one server connection.
      const actors = [ada.id, null, bob.id, ada.id, null, bob.id];
      const results = await Promise.all(actors.map((actor) => look(actor)));
      results.forEach((got, i) => {
        seen.push({ actor: actors[i]!, got });
      });
    }
    for (const { actor, got } of seen) {
      expect({ actor, user: got.user, owners: got.owners }).toEqual({
        actor,
        user: actor,
        owners: actor ? [actor] : [],
      });
    }
    // One server connection served every transaction: the settings had every chance to leak.
    expect(new Set(seen.map((s) => s.got.pid)).size).toBe(1);
  });

  it('interleaved repository calls of two users and a service each get their own rows', async () => {
    const calls: Promise<boolean>[] = [];
    for (let i = 0; i < 30; i++) {
      for (const user of [ada, bob]) {
        const me = p.db.forUser(user.id);
        calls.push(
          me.projects.list().then((page) => page.items.every((x) => x.userId === user.id)),
          me.chatSessions.create({ title: `chat ${i}` }).then((chat) => chat.userId === user.id),
          me.chatSessions
            .list({ limit: 100 })
            .then((page) => page.items.length > 0 && page.items.every((c) => c.userId === user.id)),
        );
      }
      calls.push(
        p.db
          .asService('audit')
          .chatSessions.create({ title: 'for bob' }, bob.id)
          .then((chat) => chat.userId === bob.id),
      );
    }
    const results = await Promise.all(calls);
    expect(results.filter((ok) => !ok)).toEqual([]);
    const adas = await p.db.forUser(ada.id).chatSessions.list({ limit: 100 });
    expect(adas.items).toHaveLength(30);
  });

  it('a session-level setting, which the engine never makes, would leak to the next client', async () => {
    // Outside a transaction, set_config(..., false) stays on the server connection ...
    await p.app!.execute(sql`select set_config('app.user_id', ${ada.id}, false)`);
    try {
      // ... and the next transaction, of any client, runs with it: the check above would fail.
      const other = connect(p.appUrl!);
      try {
        const [row] = await other.transaction((tx) =>
          tx.execute<{ user: string }>(sql`select current_setting('app.user_id', true) as "user"`),
        );
        expect(row?.user).toBe(ada.id);
      } finally {
        await other.close();
      }
    } finally {
      await p.app!.execute(sql`select set_config('app.user_id', '', false)`);
    }
  });
});
