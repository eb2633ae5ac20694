/**
 * Conversations, threaded messages and shared memory through `createDb` on both dialects (a
 * database pushed from `drizzle/`; Postgres as the application role, row-level security in
 * force): start, append, replies, a whole thread as a tree in one statement, pages with a
 * cursor, delivery status, close; shared memory's counted reads and upserts under concurrent
 * writers on separate connections (SQLite: separate handles on one file).
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  contextOf,
  type Dialect,
  type Executor,
  explain,
  repositoriesFor,
  type Statement,
} from '@exora/core';
import { createTestCrypto } from '@exora/crypto/testing';
import {
  createDb,
  type ExoraDb,
  type MessageTreeNode,
  type PublicUser,
  type Repositories,
} from '@exora/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_DIR, childResult, pgAdmin } from '../helpers.ts';
import { asServiceTx, type Platform, platform } from './platform.ts';

/** Concurrent handles of the shared-memory proof, and rounds per handle. */
const HANDLES = 4;
const ROUNDS = 25;
/** Processes of the cross-process proof (each its own `createDb`), running `WORKER`. */
const PROCESSES = 4;
/** Enough rounds that the processes' work overlaps (SQLite's statements take microseconds). */
const processRounds = (dialect: Dialect) => (dialect === 'sqlite' ? 1000 : 200);
const WORKER = join(APP_DIR, 'test', 'fixtures', 'shared-memory-worker.ts');

/** Every node of a tree, depth first (iterative: a thread may be deep). */
function nodesOf(root: MessageTreeNode): MessageTreeNode[] {
  const out: MessageTreeNode[] = [];
  const stack = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    out.push(node);
    for (let i = node.replies.length - 1; i >= 0; i--) stack.push(node.replies[i]!);
  }
  return out;
}

/**
 * The same repositories on an executor that records every statement a call runs (and
 * refuses units of several): a call that sends one statement records one name.
 */
function counted(of: Repositories) {
  const ctx = contextOf(of);
  const ran: string[] = [];
  const calls: { stmt: Statement<Record<string, unknown>, unknown>; params: never }[] = [];
  const exec = new Proxy(ctx.exec, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key === 'run') {
        return (
          call: unknown,
          stmt: Statement<Record<string, unknown>, unknown>,
          params: never,
        ) => {
          ran.push(stmt.name);
          calls.push({ stmt, params });
          return target.run(call as never, stmt, params);
        };
      }
      if (key === 'unit') return () => Promise.reject(new Error('a unit of several statements'));
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Executor;
  const repos = repositoriesFor(Object.getPrototypeOf(of) as Repositories, {
    exec,
    actor: ctx.actor,
    crypto: ctx.crypto,
  });
  return { repos, ran, calls };
}

export function seed001ConversationsSuite(dialect: Dialect) {
  describe(`seed 001: conversations, threads and shared memory through the repositories (${dialect})`, () => {
    let p: Platform;
    let db: ExoraDb;
    let ada: PublicUser;
    let bob: PublicUser;
    const opened: ExoraDb[] = [];
    let n = 0;

    /** Another handle on the same database: its own connection (Postgres), its own SQLite handle. */
    const handle = () => {
      const url = (dialect === 'postgres' ? p.appUrl : p.sqliteFile)!;
      const h = createDb({ url, crypto: createTestCrypto(), env: { DATABASE_POOL_MAX: '1' } });
      opened.push(h);
      return h;
    };

    beforeAll(async () => {
      p = await platform(dialect);
      db = p.db;
      const signup = db.asService('signup');
      ada = await signup.users.create({ email: `s001c-${n++}-${Date.now()}@example.test` });
      bob = await signup.users.create({ email: `s001c-${n++}-${Date.now()}@example.test` });
    });
    afterAll(async () => {
      await Promise.all(opened.map((h) => h.close()));
      await p?.dispose();
    });

    it('starts a conversation with the defaults, validates before any SQL, a service names the user', async () => {
      const me = db.forUser(ada.id);
      const c = await me.conversations.start();
      expect(c).toMatchObject({ userId: ada.id, status: 'active', channel: 'web', metadata: {} });
      const mobile = await me.conversations.start({
        channel: 'mobile',
        sessionId: 'client-7',
        role: 'user',
        content: 'I need a quote',
        metadata: { source: 'app' },
      });
      expect(mobile).toMatchObject({
        channel: 'mobile',
        sessionId: 'client-7',
        role: 'user',
        content: 'I need a quote',
        metadata: { source: 'app' },
      });
      expect(await me.conversations.get(mobile.id)).toEqual(mobile);
      await expect(me.conversations.start({ channel: 'fax' as never })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'channel',
      });
      await expect(me.conversations.start({ role: 'robot' as never })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'role',
      });
      const forAda = await db
        .asService('inbound api')
        .conversations.start({ channel: 'api' }, ada.id);
      expect(forAda).toMatchObject({ userId: ada.id, channel: 'api' });
      await expect(db.asService('inbound api').conversations.start({})).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      // A user cannot start one for someone else.
      await expect(me.conversations.start({}, bob.id)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      const listed = await me.conversations.list({ limit: 2 });
      const rest = await me.conversations.list({ limit: 2, cursor: listed.nextCursor });
      expect([listed.items.length, rest.items.length, rest.nextCursor]).toEqual([2, 1, null]);
      expect([...listed.items, ...rest.items].map((x) => x.id).sort()).toEqual(
        [c.id, mobile.id, forAda.id].sort(),
      );
      expect((await db.forUser(bob.id).conversations.list()).items).toEqual([]);
    });

    it('appends messages and replies, and reads the whole thread of any message as a tree', async () => {
      const me = db.forUser(ada.id);
      const c = await me.conversations.start();
      const root = await me.conversations.append(c.id, { senderType: 'user', content: 'Hello' });
      expect(root).toMatchObject({
        conversationId: c.id,
        userId: ada.id,
        parentMessageId: null,
        senderType: 'user',
        messageType: 'text',
        status: 'sent',
        metadata: {},
      });
      const a = await me.conversations.append(c.id, {
        senderType: 'assistant',
        senderId: 'qualifier',
        content: 'Hi! What do you need?',
        parentMessageId: root.id,
      });
      const b = await me.conversations.append(c.id, {
        senderType: 'agent',
        content: 'Routing to sales',
        parentMessageId: root.id,
        messageType: 'system',
        metadata: { route: 'sales' },
      });
      const a1 = await me.conversations.append(c.id, {
        senderType: 'user',
        content: 'A website',
        parentMessageId: a.id,
      });
      // Another thread of the same conversation stays out of this one.
      const other = await me.conversations.append(c.id, {
        senderType: 'user',
        content: 'New topic',
      });

      const expected = {
        id: root.id,
        depth: 0,
        replies: [
          { id: a.id, depth: 1, replies: [{ id: a1.id, depth: 2, replies: [] }] },
          { id: b.id, depth: 1, replies: [] },
        ],
      };
      type Shape = { id: string; depth: number; replies: Shape[] };
      const shape = (node: MessageTreeNode): Shape => ({
        id: node.message.id,
        depth: node.depth,
        replies: node.replies.map(shape),
      });
      for (const from of [root, a, b, a1]) {
        const tree = await me.conversations.thread(from.id);
        // Siblings written in the same millisecond are ordered by id: compare as sets.
        const sorted = (s: Shape): Shape => ({
          ...s,
          replies: s.replies.map(sorted).sort((x, y) => x.id.localeCompare(y.id)),
        });
        expect(sorted(shape(tree))).toEqual(sorted(expected));
        expect(nodesOf(tree).find((x) => x.message.id === b.id)?.message.metadata).toEqual({
          route: 'sales',
        });
      }
      expect(shape(await me.conversations.thread(other.id))).toEqual({
        id: other.id,
        depth: 0,
        replies: [],
      });

      // A reply must name a message of the same conversation.
      const elsewhere = await me.conversations.start();
      await expect(
        me.conversations.append(elsewhere.id, {
          senderType: 'user',
          content: 'x',
          parentMessageId: a.id,
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', entity: 'parent message' });
      await expect(
        me.conversations.append(c.id, {
          senderType: 'user',
          content: 'x',
          parentMessageId: randomUUID(),
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', entity: 'parent message' });
      await expect(
        me.conversations.append(randomUUID(), { senderType: 'user', content: 'x' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', entity: 'conversation' });
      for (const bad of [
        { senderType: 'robot', content: 'x' },
        { senderType: 'user', content: '   ' },
        { senderType: 'user', content: 'x', messageType: 'video' },
        { senderType: 'user', content: 'x', parentMessageId: 'nope' },
        { senderType: 'user', content: 'x', metadata: [] },
      ]) {
        await expect(me.conversations.append(c.id, bad as never)).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
        });
      }
      // Nothing of the refused appends was written.
      const all = await me.conversations.messages(c.id, { limit: 200 });
      expect(all.items.map((m) => m.id).sort()).toEqual(
        [root.id, a.id, b.id, a1.id, other.id].sort(),
      );
    });

    it('reads a thread 50 deep as a tree with one statement', async () => {
      const me = db.forUser(ada.id);
      const c = await me.conversations.start();
      const chain: string[] = [];
      for (let i = 0; i < 50; i++) {
        const m = await me.conversations.append(c.id, {
          senderType: i % 2 ? 'assistant' : 'user',
          content: `message ${i}`,
          parentMessageId: chain.at(-1) ?? null,
        });
        chain.push(m.id);
      }
      const { repos, ran } = counted(db.forUser(ada.id));
      // From the deepest message: up to the root, then down again, in the one statement.
      const tree = await repos.conversations.thread(chain[49]!);
      expect(ran).toEqual(['conversations.thread']);
      const nodes = nodesOf(tree);
      expect(nodes.map((x) => x.message.id)).toEqual(chain);
      expect(nodes.map((x) => x.depth)).toEqual(chain.map((_, i) => i));
      expect(nodes.map((x) => x.message.content)).toEqual(chain.map((_, i) => `message ${i}`));
      expect(nodes.at(-1)?.replies).toEqual([]);
      // From the middle the whole thread is the same tree.
      ran.length = 0;
      const fromMiddle = await repos.conversations.thread(chain[20]!);
      expect(ran).toEqual(['conversations.thread']);
      expect(nodesOf(fromMiddle).map((x) => x.message.id)).toEqual(chain);
      // A branch off the middle joins the tree at its depth.
      const branch = await me.conversations.append(c.id, {
        senderType: 'user',
        content: 'branch',
        parentMessageId: chain[9]!,
      });
      const withBranch = nodesOf(await me.conversations.thread(chain[0]!));
      expect(withBranch).toHaveLength(51);
      expect(withBranch.find((x) => x.message.id === branch.id)?.depth).toBe(10);
    });

    it('pages through a conversation newest first with a cursor', async () => {
      const me = db.forUser(ada.id);
      const c = await me.conversations.start();
      const written: string[] = [];
      for (let i = 0; i < 25; i++) {
        written.push(
          (await me.conversations.append(c.id, { senderType: 'user', content: `m${i}` })).id,
        );
      }
      const { repos, ran } = counted(db.forUser(ada.id));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof me.conversations.messages>> =
          await repos.conversations.messages(c.id, { limit: 10, cursor });
        seen.push(...page.items.map((m) => m.id));
        for (let i = 1; i < page.items.length; i++) {
          const [newer, older] = [page.items[i - 1]!, page.items[i]!];
          expect(newer.createdAt.getTime()).toBeGreaterThanOrEqual(older.createdAt.getTime());
        }
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(ran).toEqual(Array(3).fill('conversations.messages'));
      expect([...seen].sort()).toEqual([...written].sort());
      expect(new Set(seen).size).toBe(25);
      await expect(me.conversations.messages(c.id, { cursor: 'bogus' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'cursor',
      });
      await expect(me.conversations.messages(c.id, { limit: 500 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'limit',
      });
      // Another user's conversation reads as empty.
      expect((await db.forUser(bob.id).conversations.messages(c.id)).items).toEqual([]);
    });

    it('marks messages delivered and read, only forward', async () => {
      const me = db.forUser(ada.id);
      const c = await me.conversations.start();
      const m1 = await me.conversations.append(c.id, { senderType: 'assistant', content: '1' });
      const m2 = await me.conversations.append(c.id, { senderType: 'assistant', content: '2' });
      const m3 = await me.conversations.append(c.id, { senderType: 'assistant', content: '3' });
      const m4 = await me.conversations.append(c.id, { senderType: 'assistant', content: '4' });
      expect((await me.conversations.markDelivered(m1.id)).status).toBe('delivered');
      expect((await me.conversations.markRead(m1.id)).status).toBe('read');
      // Never back: delivered after read stays read, and so does read again.
      expect((await me.conversations.markDelivered(m1.id)).status).toBe('read');
      expect((await me.conversations.markRead(m1.id)).status).toBe('read');
      expect((await me.conversations.markRead(m2.id)).status).toBe('read');
      // A failed message (the sender's runtime sets that) cannot be marked.
      await asServiceTx(db, (tx) =>
        tx.execute(sql`update messages set status = 'failed' where id = ${m4.id}`),
      );
      await expect(me.conversations.markRead(m4.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'messageId',
      });
      await expect(me.conversations.markDelivered(m4.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      // The rest of the conversation at once: m3 only (m1, m2 read, m4 failed).
      expect(await me.conversations.markAllRead(c.id)).toBe(1);
      expect(await me.conversations.markAllRead(c.id)).toBe(0);
      const statuses = new Map(
        (await me.conversations.messages(c.id)).items.map((m) => [m.id, m.status]),
      );
      expect(statuses).toEqual(
        new Map([
          [m1.id, 'read'],
          [m2.id, 'read'],
          [m3.id, 'read'],
          [m4.id, 'failed'],
        ]),
      );
      await expect(me.conversations.markRead(randomUUID())).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('closes a conversation: no more messages, closing twice refused', async () => {
      const me = db.forUser(ada.id);
      const c = await me.conversations.start();
      const first = await me.conversations.append(c.id, { senderType: 'user', content: 'bye' });
      const closed = await me.conversations.close(c.id);
      expect(closed).toMatchObject({ id: c.id, status: 'completed' });
      await expect(me.conversations.close(c.id, 'cancelled')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'conversationId',
      });
      await expect(
        me.conversations.append(c.id, { senderType: 'user', content: 'one more' }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'conversationId' });
      await expect(
        me.conversations.append(c.id, {
          senderType: 'user',
          content: 'a reply',
          parentMessageId: first.id,
        }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'conversationId' });
      const cancelled = await me.conversations.close(
        (await me.conversations.start()).id,
        'cancelled',
      );
      expect(cancelled.status).toBe('cancelled');
      await expect(me.conversations.close(c.id, 'archived' as never)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'outcome',
      });
      // The thread of a closed conversation still reads.
      expect((await me.conversations.thread(first.id)).message.id).toBe(first.id);
    });

    it("keeps another user's conversations and messages invisible and untouchable", async () => {
      const me = db.forUser(ada.id);
      const them = db.forUser(bob.id);
      const c = await me.conversations.start();
      const m = await me.conversations.append(c.id, { senderType: 'user', content: 'private' });
      await expect(them.conversations.get(c.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        them.conversations.append(c.id, { senderType: 'user', content: 'intrusion' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', entity: 'conversation' });
      // Bob's own conversation cannot hang a reply on Ada's message.
      const theirs = await them.conversations.start();
      await expect(
        them.conversations.append(theirs.id, {
          senderType: 'user',
          content: 'x',
          parentMessageId: m.id,
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', entity: 'parent message' });
      await expect(them.conversations.thread(m.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(them.conversations.markRead(m.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(them.conversations.markDelivered(m.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(await them.conversations.markAllRead(c.id)).toBe(0);
      await expect(them.conversations.close(c.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await them.conversations.list()).items.map((x) => x.id)).toEqual([theirs.id]);
      // Untouched.
      expect(await me.conversations.get(c.id)).toMatchObject({ status: 'active' });
      expect((await me.conversations.thread(m.id)).message.status).toBe('sent');
      // A service acts for the user it names, and must name one.
      const svc = db.asService('agent runtime');
      await expect(svc.conversations.markRead(m.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(svc.conversations.markRead(m.id, bob.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      const answer = await svc.conversations.append(
        c.id,
        { senderType: 'assistant', senderId: 'qualifier', content: 'On it', parentMessageId: m.id },
        ada.id,
      );
      expect(answer).toMatchObject({ userId: ada.id, parentMessageId: m.id });
      expect((await svc.conversations.markDelivered(answer.id, ada.id)).status).toBe('delivered');
      await expect(
        svc.conversations.append(c.id, { senderType: 'assistant', content: 'x' }, bob.id),
      ).rejects.toMatchObject({ code: 'NOT_FOUND', entity: 'conversation' });
      const tree = await svc.conversations.thread(m.id, ada.id);
      expect(tree.replies.map((r) => r.message.id)).toEqual([answer.id]);
    });

    if (dialect === 'postgres') {
      it('as the application role, raw SQL for one user sees none of the other’s messages', async () => {
        const me = db.forUser(ada.id);
        const c = await me.conversations.start();
        await me.conversations.append(c.id, { senderType: 'user', content: 'ada only' });
        const app = p.app!;
        const seen = await app.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${bob.id}, null, false)`);
          return {
            messages: await tx.execute(
              sql`select id from messages where conversation_id = ${c.id}`,
            ),
            conversations: await tx.execute(sql`select id from conversations where id = ${c.id}`),
            updated: await tx.execute(
              sql`update messages set status = 'read' where conversation_id = ${c.id} returning id`,
            ),
          };
        });
        expect(seen).toEqual({ messages: [], conversations: [], updated: [] });
        const own = await app.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${ada.id}, null, false)`);
          return tx.execute(sql`select id from messages where conversation_id = ${c.id}`);
        });
        expect(own).toHaveLength(1);
      });
    }

    it('shared memory: counted reads, upserts that keep the count, lists by scope, forget', async () => {
      const agent = db.asService('agent runtime');
      const conv = `conv-${randomUUID()}`;
      expect(await agent.sharedMemory.get(conv, 'budget')).toBeNull();
      const stored = await agent.sharedMemory.put(conv, 'budget', { max: 5000, currency: 'EUR' });
      expect(stored).toMatchObject({
        conversationId: conv,
        memoryKey: 'budget',
        scope: 'session',
        memoryValue: { max: 5000, currency: 'EUR' },
        accessCount: 0,
        lastAccessedAt: null,
        metadata: {},
      });
      const before = Date.now();
      const read = await agent.sharedMemory.get(conv, 'budget');
      expect(read).toMatchObject({ memoryValue: { max: 5000, currency: 'EUR' }, accessCount: 1 });
      expect(read?.lastAccessedAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect((await agent.sharedMemory.get(conv, 'budget'))?.accessCount).toBe(2);
      // A write replaces the value and keeps the count; metadata kept unless given.
      await agent.sharedMemory.put(conv, 'budget', 7000, { metadata: { by: 'qualifier' } });
      const replaced = await agent.sharedMemory.put(conv, 'budget', 8000);
      expect(replaced).toMatchObject({
        id: stored.id,
        memoryValue: 8000,
        accessCount: 2,
        metadata: { by: 'qualifier' },
      });
      expect((await agent.sharedMemory.get(conv, 'budget'))?.accessCount).toBe(3);
      // Any JSON value: strings, arrays, booleans.
      await agent.sharedMemory.put(conv, 'plan', ['discover', 'quote'], { scope: 'workflow' });
      await agent.sharedMemory.put(conv, 'greeted', true, { scope: 'workflow' });
      await agent.sharedMemory.put(conv, 'tone', 'formal', { scope: 'global' });
      await agent.sharedMemory.put(conv, 'budget', 'agent copy', { scope: 'agent' });
      expect((await agent.sharedMemory.get(conv, 'tone', 'global'))?.memoryValue).toBe('formal');
      const workflow = await agent.sharedMemory.list(conv, 'workflow');
      expect(workflow.map((e) => [e.memoryKey, e.memoryValue])).toEqual([
        ['greeted', true],
        ['plan', ['discover', 'quote']],
      ]);
      const everything = await agent.sharedMemory.list(conv);
      expect(everything.map((e) => `${e.scope}:${e.memoryKey}`)).toEqual([
        'agent:budget',
        'global:tone',
        'session:budget',
        'workflow:greeted',
        'workflow:plan',
      ]);
      // Listing is not an access.
      expect((await agent.sharedMemory.list(conv, 'session'))[0]?.accessCount).toBe(3);
      expect(await agent.sharedMemory.list(`other-${conv}`, 'session')).toEqual([]);
      expect(await agent.sharedMemory.forget(conv, 'plan', 'workflow')).toBe(true);
      expect(await agent.sharedMemory.forget(conv, 'plan', 'workflow')).toBe(false);
      expect(await agent.sharedMemory.get(conv, 'plan', 'workflow')).toBeNull();
      // A counted read is one statement.
      const { repos, ran } = counted(agent);
      expect((await repos.sharedMemory.get(conv, 'budget'))?.accessCount).toBe(4);
      expect(ran).toEqual(['sharedMemory.get']);
      for (const [call, field] of [
        [() => agent.sharedMemory.put(conv, 'k', null), 'value'],
        [() => agent.sharedMemory.put(conv, 'k', undefined), 'value'],
        [() => agent.sharedMemory.put(conv, '', 1), 'memoryKey'],
        [() => agent.sharedMemory.put('', 'k', 1), 'conversationId'],
        [() => agent.sharedMemory.put(conv, 'k', 1, { scope: 'team' as never }), 'scope'],
        [() => agent.sharedMemory.get(conv, 'k', 'team' as never), 'scope'],
        [() => agent.sharedMemory.put(conv, 'k', 1n), 'value'],
      ] as const) {
        await expect(call()).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field });
      }
    });

    it('shared memory is the agent runtime’s: a user context is refused, rows untouched', async () => {
      const agent = db.asService('agent runtime');
      const conv = `conv-${randomUUID()}`;
      await agent.sharedMemory.put(conv, 'secret plan', { step: 1 });
      const me = db.forUser(ada.id);
      for (const call of [
        () => me.sharedMemory.get(conv, 'secret plan'),
        () => me.sharedMemory.put(conv, 'secret plan', { step: 2 }),
        () => me.sharedMemory.list(conv),
        () => me.sharedMemory.list(conv, 'session'),
        () => me.sharedMemory.forget(conv, 'secret plan'),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      }
      expect(await agent.sharedMemory.list(conv)).toMatchObject([
        { memoryValue: { step: 1 }, accessCount: 0 },
      ]);
      if (dialect === 'postgres') {
        const rows = await p.app!.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${ada.id}, null, false)`);
          return tx.execute(sql`select id from shared_memory where conversation_id = ${conv}`);
        });
        expect(rows).toEqual([]);
      }
    });

    it(`shared memory under ${HANDLES} concurrent connections: one row per key, no unique violation, exact access counts`, async () => {
      const handles = Array.from({ length: HANDLES }, () => handle().asService('agent runtime'));
      const conv = `conv-${randomUUID()}`;
      const keys = ['budget', 'timeline', 'contact'];
      // Every handle writes every new key at the same moment: the first write of a key races.
      const first = await Promise.allSettled(
        handles.flatMap((h, i) => keys.map((k) => h.sharedMemory.put(conv, k, { writer: i }))),
      );
      expect(first.filter((r) => r.status === 'rejected')).toEqual([]);
      const ids = new Set(
        first.map((r) => (r as PromiseFulfilledResult<{ memoryKey: string; id: string }>).value.id),
      );
      expect(ids.size).toBe(keys.length);

      // Then reads and writes of the same keys interleaved on every handle.
      const counts = new Map<string, number[]>(keys.map((k) => [k, []]));
      const writes: string[] = [];
      await Promise.all(
        handles.map(async (h, i) => {
          for (let r = 0; r < ROUNDS; r++) {
            const key = keys[(i + r) % keys.length]!;
            const [got, put] = await Promise.all([
              h.sharedMemory.get(conv, key),
              h.sharedMemory.put(conv, key, { writer: i, round: r }),
            ]);
            expect(got).not.toBeNull();
            counts.get(key)!.push(got!.accessCount);
            writes.push(`${key}:${i}:${r}`);
            expect(put.memoryKey).toBe(key);
          }
        }),
      );
      const agent = db.asService('agent runtime');
      const final = await agent.sharedMemory.list(conv, 'session');
      expect(final).toHaveLength(keys.length);
      let gets = 0;
      for (const entry of final) {
        const seen = counts.get(entry.memoryKey)!;
        gets += seen.length;
        // Every read was counted once: the counts the reads returned are exactly 1..n.
        expect(entry.accessCount).toBe(seen.length);
        expect([...seen].sort((x, y) => x - y)).toEqual(seen.map((_, i) => i + 1));
        // The value is one a writer put.
        const value = entry.memoryValue as { writer: number; round: number };
        expect(writes).toContain(`${entry.memoryKey}:${value.writer}:${value.round}`);
      }
      expect(gets).toBe(HANDLES * ROUNDS);
    });

    it(`shared memory from ${PROCESSES} processes at once: exact access counts, no unique violation`, async () => {
      const url = (dialect === 'postgres' ? p.appUrl : p.sqliteFile)!;
      const conv = `conv-${randomUUID()}`;
      const keys = ['budget', 'timeline', 'contact'];
      // Every process connects first; all start together once all are ready.
      let ready = 0;
      let go: () => void;
      const allReady = new Promise<void>((r) => {
        go = r;
      });
      const procs = Array.from({ length: PROCESSES }, (_, i) =>
        spawn(
          join(APP_DIR, 'node_modules', '.bin', 'tsx'),
          [WORKER, url, conv, keys.join(','), String(processRounds(dialect)), String(i)],
          { cwd: APP_DIR, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] },
        ),
      );
      const children = procs.map((child) =>
        childResult(child, (line) => {
          if (line === 'ready' && ++ready === PROCESSES) go();
        }),
      );
      await Promise.race([allReady, Promise.all(children)]);
      for (const child of procs) child.stdin.write('go\n');
      const results = await Promise.all(children);
      for (const r of results)
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      const outputs = results.map(
        (r) =>
          JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
            counts: Record<string, number[]>;
            writes: string[];
            startedAt: number;
            endedAt: number;
          },
      );
      const final = await db.asService('agent runtime').sharedMemory.list(conv, 'session');
      expect(final.map((e) => e.memoryKey).sort()).toEqual([...keys].sort());
      let gets = 0;
      for (const entry of final) {
        const seen = outputs.flatMap((o) => o.counts[entry.memoryKey] ?? []);
        gets += seen.length;
        expect(entry.accessCount).toBe(seen.length);
        expect([...seen].sort((x, y) => x - y)).toEqual(seen.map((_, i) => i + 1));
        const value = entry.memoryValue as { writer: number; round: number };
        expect(outputs.flatMap((o) => o.writes)).toContain(
          `${entry.memoryKey}:${value.writer}:${value.round}`,
        );
      }
      expect(gets).toBe(PROCESSES * processRounds(dialect));
      // The processes ran at the same time: every one started before any finished.
      const lastStart = Math.max(...outputs.map((o) => o.startedAt));
      const firstEnd = Math.min(...outputs.map((o) => o.endedAt));
      console.info(
        `[seed-001] ${dialect} ${PROCESSES} processes: ${outputs.map((o) => `${o.startedAt - lastStart}..${o.endedAt - lastStart} ms`).join(', ')} (0 = the last start)`,
      );
      expect(lastStart).toBeLessThan(firstEnd);
    }, 120_000);
  });
}

/** Messages of the thread-at-scale check, and conversations they spread over (one thread each). */
const THREAD_MESSAGES = Number(process.env.SEED001_THREAD_MESSAGES ?? 100_000);
const THREAD_CONVERSATIONS = THREAD_MESSAGES / 50;
const THREAD_USERS = 4;

/**
 * A 50-deep thread among many messages: the one recursive query walks up by the primary key and
 * down by `messages_parent_idx`, never scanning the table (Postgres: as the application role, the
 * policy in the plan). The plans and a timing are printed as `[seed-001] thread ...`.
 */
export function seed001ThreadPlansSuite(dialect: Dialect) {
  describe(`seed 001: a 50-deep thread among ${THREAD_MESSAGES} messages (${dialect})`, () => {
    let p: Platform;
    const users: string[] = [];

    beforeAll(async () => {
      p = await platform(dialect);
      const signup = p.db.asService('signup');
      for (let i = 0; i < THREAD_USERS; i++) {
        users.push(
          (await signup.users.create({ email: `s001t-${i}-${Date.now()}@example.test` })).id,
        );
      }
      const started = performance.now();
      // Conversation k belongs to users[k % 4]; message g is in conversation g % C and replies
      // to message g - C: every conversation holds one thread 50 deep.
      const C = THREAD_CONVERSATIONS;
      const owner = (k: string) =>
        `case ${k} % ${THREAD_USERS} ${users.map((u, i) => `when ${i} then '${u}'`).join(' ')} end`;
      if (dialect === 'postgres') {
        const uuid = (prefix: string, n: string) =>
          `('00000000-0000-4000-${prefix}-' || lpad((${n})::text, 12, '0'))::uuid`;
        const admin = pgAdmin(new URL(p.appUrl!).pathname.slice(1));
        try {
          await admin.unsafe(`
            insert into conversations (id, user_id)
            select ${uuid('9000', 'k')}, (${owner('k')})::uuid from generate_series(0, ${C - 1}) k`);
          await admin.unsafe(`
            insert into messages (id, conversation_id, user_id, parent_message_id, sender_type, content, created_at)
            select ${uuid('8000', 'g')}, ${uuid('9000', `g % ${C}`)}, (${owner(`(g % ${C})`)})::uuid,
                   case when g < ${C} then null else ${uuid('8000', `g - ${C}`)} end,
                   'user', 'message ' || g, now() - make_interval(secs => ${THREAD_MESSAGES} - g)
            from generate_series(0, ${THREAD_MESSAGES - 1}) g`);
          await admin.unsafe('analyze conversations');
          await admin.unsafe('analyze messages');
        } finally {
          await admin.end();
        }
      } else {
        const uuid = (prefix: string, n: string) =>
          `printf('00000000-0000-4000-${prefix}-%012d', ${n})`;
        const series = (n: number) =>
          `with recursive s(g) as (select 0 union all select g + 1 from s where g < ${n - 1})`;
        await p.db.database.execute(
          sql.raw(`insert into conversations (id, user_id, created_at, updated_at)
            ${series(C)} select ${uuid('9000', 'g')}, ${owner('g')}, 0, 0 from s`),
        );
        await p.db.database.execute(
          sql.raw(`insert into messages (id, conversation_id, user_id, parent_message_id, sender_type, content, created_at, updated_at)
            ${series(THREAD_MESSAGES)}
            select ${uuid('8000', 'g')}, ${uuid('9000', `g % ${C}`)}, ${owner(`(g % ${C})`)},
                   case when g < ${C} then null else ${uuid('8000', `g - ${C}`)} end,
                   'user', 'message ' || g, g, g
            from s`),
        );
        await p.db.database.execute(sql`analyze`);
      }
      console.info(
        `[seed-001] ${dialect}: ${THREAD_MESSAGES} messages in ${C} threads inserted in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    });
    afterAll(async () => {
      await p?.dispose();
    });

    it('reads the thread from its middle with one statement on the indexes', async () => {
      // Conversation 3 is users[3]'s; its messages are 3, 3 + C, 3 + 2C, ...
      const C = THREAD_CONVERSATIONS;
      const id = (g: number) => `00000000-0000-4000-8000-${String(g).padStart(12, '0')}`;
      const chain = Array.from({ length: 50 }, (_, i) => id(3 + i * C));
      const me = p.db.forUser(users[3]!);
      const { repos, ran, calls } = counted(me);
      const tree = await repos.conversations.thread(chain[25]!);
      expect(ran).toEqual(['conversations.thread']);
      const nodes = nodesOf(tree);
      expect(nodes.map((x) => x.message.id)).toEqual(chain);
      expect(nodes.map((x) => x.depth)).toEqual(chain.map((_, i) => i));
      // Another user reaches none of it.
      await expect(p.db.forUser(users[2]!).conversations.thread(chain[25]!)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });

      const { stmt, params } = calls[0]!;
      const ctx = contextOf(me);
      const plan = (
        await explain(p.db.database, { actor: ctx.actor, crypto: ctx.crypto }, stmt, params)
      ).join('\n');
      const times: number[] = [];
      for (let i = 0; i < 21; i++) {
        const t0 = performance.now();
        await me.conversations.thread(chain[i]!);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      console.info(
        `[seed-001] ${dialect} thread of 50 among ${THREAD_MESSAGES} messages: median ${times[10]!.toFixed(2)} ms (21 reads, ${times[0]!.toFixed(2)}-${times[20]!.toFixed(2)})\n[seed-001] ${dialect} plan of the thread:\n  ${plan.replaceAll('\n', '\n  ')}`,
      );
      expect(plan).toMatch(/messages_parent_idx/);
      if (dialect === 'postgres') {
        expect(plan).not.toMatch(/Seq Scan on messages/);
        expect(plan).toMatch(/messages_pkey/);
      } else {
        expect(plan).not.toMatch(/\bSCAN (m|messages)\b(?! USING)/);
      }
    });
  });
}
