/**
 * Conversations, threaded messages, leads, workflow executions, agent messages and shared
 * memory on a database pushed from `drizzle/`: the constraints, the thread's own foreign keys
 * and, on Postgres, row-level security as the application role.
 */
import { randomUUID } from 'node:crypto';
import type { Database, Dialect, Executor } from '@exora/core';
import type { ExoraDb, PublicUser } from '@exora/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asServiceTx, type Platform, platform } from './platform.ts';

export function seed001Suite(dialect: Dialect) {
  describe(`seed 001: conversations, messages, leads, executions, agent messages, shared memory (${dialect})`, () => {
    let p: Platform;
    let db: ExoraDb;
    let ada: PublicUser;
    let bob: PublicUser;
    let n = 0;
    const newUser = () =>
      db.asService('signup').users.create({ email: `s001-${n++}-${Date.now()}@example.test` });

    beforeAll(async () => {
      p = await platform(dialect);
      db = p.db;
      ada = await newUser();
      bob = await newUser();
    });
    afterAll(async () => {
      await p?.dispose();
    });

    /** Raw SQL as a service (what a maintenance job would do). */
    const asService = <R>(fn: (tx: Executor) => Promise<R>) => asServiceTx(db, fn);

    const newConversation = (tx: Executor, userId: string) => {
      const id = randomUUID();
      return tx
        .execute(sql`insert into conversations (id, user_id) values (${id}, ${userId})`)
        .then(() => id);
    };
    const newMessage = (
      tx: Executor,
      m: { conversationId: string; userId: string; parentMessageId?: string | null },
    ) => {
      const id = randomUUID();
      return tx
        .execute(
          sql`insert into messages (id, conversation_id, user_id, parent_message_id, sender_type, content)
              values (${id}, ${m.conversationId}, ${m.userId}, ${m.parentMessageId ?? null}, 'user', 'hi')`,
        )
        .then(() => id);
    };

    it('gives conversations and messages the defaults and allowed values', async () => {
      await asService(async (tx) => {
        const c = await newConversation(tx, ada.id);
        const [row] = await tx.execute<{ status: string; channel: string }>(
          sql`select status, channel from conversations where id = ${c}`,
        );
        expect(row).toEqual({ status: 'active', channel: 'web' });
        const m = await newMessage(tx, { conversationId: c, userId: ada.id });
        const [msg] = await tx.execute<{ message_type: string; status: string }>(
          sql`select message_type, status from messages where id = ${m}`,
        );
        expect(msg).toEqual({ message_type: 'text', status: 'sent' });
      });
      await expect(
        asService((tx) =>
          tx.execute(
            sql`insert into conversations (id, user_id, channel) values (${randomUUID()}, ${ada.id}, 'fax')`,
          ),
        ),
      ).rejects.toMatchObject({ code: 'CHECK_VIOLATION' });
    });

    it('threads messages 50 deep; deleting a message deletes its replies', async () => {
      await asService(async (tx) => {
        const c = await newConversation(tx, ada.id);
        let parent: string | null = null;
        const ids: string[] = [];
        for (let i = 0; i < 50; i++) {
          parent = await newMessage(tx, {
            conversationId: c,
            userId: ada.id,
            parentMessageId: parent,
          });
          ids.push(parent);
        }
        const [depth] = await tx.execute<{ depth: number | string }>(sql`
          with recursive thread(id, depth) as (
            select id, 1 from messages where id = ${ids[0]}
            union all
            select m.id, t.depth + 1 from messages m join thread t on m.parent_message_id = t.id
          )
          select max(depth) as depth from thread`);
        expect(Number(depth?.depth)).toBe(50);
        await tx.execute(sql`delete from messages where id = ${ids[10]}`);
        const [left] = await tx.execute<{ n: number | string }>(
          sql`select count(*) as n from messages where conversation_id = ${c}`,
        );
        expect(Number(left?.n)).toBe(10);
      });
    });

    it('enforces the lead status list and the 0-100 score in the database', async () => {
      const insertLead = (score: number, status = 'new') =>
        asService((tx) =>
          tx.execute(
            sql`insert into leads (id, name, assigned_to, status, lead_score) values (${randomUUID()}, 'Acme', ${ada.id}, ${status}, ${score})`,
          ),
        );
      await insertLead(0);
      await insertLead(100, 'won');
      await expect(insertLead(101)).rejects.toMatchObject({ code: 'CHECK_VIOLATION' });
      await expect(insertLead(-1)).rejects.toMatchObject({ code: 'CHECK_VIOLATION' });
      await expect(insertLead(50, 'dormant')).rejects.toMatchObject({
        code: dialect === 'postgres' ? 'INVALID_DATA' : 'CHECK_VIOLATION',
      });
    });

    it('links agent messages to an execution of the same user; shared memory is unique per conversation, key and scope', async () => {
      await asService(async (tx) => {
        const execution = randomUUID();
        await tx.execute(
          sql`insert into workflow_executions (id, workflow_type, initiated_by) values (${execution}, 'lead_qualification', ${ada.id})`,
        );
        await tx.execute(
          sql`insert into agent_messages (id, workflow_execution_id, user_id, agent_name, message_type) values (${randomUUID()}, ${execution}, ${ada.id}, 'qualifier', 'input')`,
        );
        await expect(
          tx.transaction((inner) =>
            inner.execute(
              sql`insert into agent_messages (id, workflow_execution_id, user_id, agent_name, message_type) values (${randomUUID()}, ${execution}, ${bob.id}, 'qualifier', 'input')`,
            ),
          ),
        ).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' });
        const remember = () =>
          tx.execute(
            sql`insert into shared_memory (id, conversation_id, memory_key, memory_value, scope) values (${randomUUID()}, 'c-1', 'budget', '1', 'session')`,
          );
        await remember();
        await expect(tx.transaction(() => remember())).rejects.toMatchObject({
          code: 'UNIQUE_VIOLATION',
        });
      });
    });

    // Postgres only: SQLite has no roles to query as.
    if (dialect === 'postgres') {
      it('as the application role, a user reaches only their rows; shared memory only as a service', async () => {
        const app = p.app as Database;
        await asService(async (tx) => {
          await newConversation(tx, ada.id);
          await newConversation(tx, bob.id);
          await tx.execute(
            sql`insert into shared_memory (id, conversation_id, memory_key, memory_value) values (${randomUUID()}, 'c-rls', 'k', '{}')`,
          );
        });
        const seen = await app.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${ada.id}, null, false)`);
          return {
            conversations: await tx.execute<{ user_id: string }>(
              sql`select user_id from conversations`,
            ),
            memory: await tx.execute(sql`select id from shared_memory`),
          };
        });
        expect(seen.conversations.length).toBeGreaterThan(0);
        expect(seen.conversations.every((r) => r.user_id === ada.id)).toBe(true);
        expect(seen.memory).toEqual([]);
      });
    }
  });
}
