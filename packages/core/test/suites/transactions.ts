import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { type Executor, NotNullViolationError, statement, userActor } from '../../src/index.ts';
import { sampleItems, sampleOwners } from '../../testing/sample-schema.ts';
import type { SuiteContext } from './context.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function newOwner(db: Executor, label: string) {
  const owners = db.table(sampleOwners);
  const [row] = await db.db
    .insert(owners)
    .values({ email: `${label}-${Math.random().toString(36).slice(2)}@example.test` })
    .returning();
  return row!;
}

async function titlesOf(db: Executor, ownerId: string) {
  const items = db.table(sampleItems);
  const rows = await db.db
    .select({ title: items.title })
    .from(items)
    .where(eq(items.ownerId, ownerId))
    .orderBy(items.title);
  return rows.map((r) => r.title);
}

const insertItem = statement.count(
  'test.insertItem',
  sampleItems,
  ['title'],
  ({ db, t, $, owner }) => db.insert(t).values({ ownerId: owner, title: $.title }),
);
const listTitles = statement.many('test.listTitles', sampleItems, [], ({ db, t, owned }) =>
  db.select({ title: t.title }).from(t).where(owned()).orderBy(t.title),
);

export function transactionSuite(ctx: SuiteContext) {
  describe(`transactions (${ctx.dialect})`, () => {
    it('commits all the work of a transaction', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'commit');
      const result = await db.transaction(async (tx) => {
        const items = tx.table(sampleItems);
        await tx.db.insert(items).values({ ownerId: owner.id, title: 'a' });
        await sleep(1);
        await tx.db.insert(items).values({ ownerId: owner.id, title: 'b' });
        return 'done';
      });
      expect(result).toBe('done');
      expect(await titlesOf(db, owner.id)).toEqual(['a', 'b']);
    });

    it('rolls back everything, including statements after an await, when the callback throws', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'rollback');
      await expect(
        db.transaction(async (tx) => {
          const items = tx.table(sampleItems);
          await tx.db.insert(items).values({ ownerId: owner.id, title: 'a' });
          await sleep(5);
          await tx.db.insert(items).values({ ownerId: owner.id, title: 'b' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await titlesOf(db, owner.id)).toEqual([]);
    });

    it('rolls back a nested transaction to its savepoint and keeps the outer work', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'nested');
      await db.transaction(async (tx) => {
        const items = tx.table(sampleItems);
        await tx.db.insert(items).values({ ownerId: owner.id, title: 'outer' });
        await expect(
          tx.transaction(async (inner) => {
            await inner.db
              .insert(inner.table(sampleItems))
              .values({ ownerId: owner.id, title: 'inner' });
            throw new Error('inner fails');
          }),
        ).rejects.toThrow('inner fails');
        await tx.transaction(async (inner) => {
          await inner.db
            .insert(inner.table(sampleItems))
            .values({ ownerId: owner.id, title: 'inner ok' });
        });
        await tx.db.insert(items).values({ ownerId: owner.id, title: 'outer 2' });
      });
      expect(await titlesOf(db, owner.id)).toEqual(['inner ok', 'outer', 'outer 2']);
    });

    it('keeps two concurrent transactions apart: one rolls back, the other commits', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'concurrent');
      const events: string[] = [];
      const failing = db.transaction(async (tx) => {
        const items = tx.table(sampleItems);
        events.push('A begin');
        await tx.db.insert(items).values({ ownerId: owner.id, title: 'A1' });
        await sleep(20);
        await tx.db.insert(items).values({ ownerId: owner.id, title: 'A2' });
        events.push('A end');
        throw new Error('A fails');
      });
      const committing = (async () => {
        await sleep(2);
        return db.transaction(async (tx) => {
          const items = tx.table(sampleItems);
          events.push('B begin');
          await tx.db.insert(items).values({ ownerId: owner.id, title: 'B1' });
          await sleep(5);
          await tx.db.insert(items).values({ ownerId: owner.id, title: 'B2' });
          events.push('B end');
        });
      })();
      const [a, b] = await Promise.allSettled([failing, committing]);
      expect(a.status).toBe('rejected');
      expect(b.status).toBe('fulfilled');
      // Had B's statements run inside A's transaction, A's rollback would have removed them.
      expect(await titlesOf(db, owner.id)).toEqual(['B1', 'B2']);
      if (ctx.dialect === 'sqlite') {
        // One connection: the second transaction waits for the first to end.
        expect(events).toEqual(['A begin', 'A end', 'B begin', 'B end']);
      }
    });

    it('does not let a statement outside a transaction land inside another one', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'outside');
      const items = db.table(sampleItems);
      // The outcome is observed at once: on a loaded machine the transaction may end before the
      // statement outside it does.
      const tx = db
        .transaction(async (t) => {
          await t.db.insert(t.table(sampleItems)).values({ ownerId: owner.id, title: 'in tx' });
          await sleep(20);
          throw new Error('roll back');
        })
        .then(
          () => 'committed',
          (e: Error) => e.message,
        );
      await sleep(2);
      await db.db.insert(items).values({ ownerId: owner.id, title: 'outside' });
      expect(await tx).toBe('roll back');
      expect(await titlesOf(db, owner.id)).toEqual(['outside']);
    });

    it('runs a statement inside the unit that runs it, and rolls it back with the unit', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'prepared');
      const call = { actor: userActor(owner.id), crypto: undefined };
      await expect(
        db.unit(call, 'write', async (tx) => {
          await tx.run(call, insertItem, { title: 'p1' });
          expect(await tx.run(call, listTitles, {})).toEqual([{ title: 'p1' }]);
          throw new Error('undo');
        }),
      ).rejects.toThrow('undo');
      expect(await titlesOf(db, owner.id)).toEqual([]);
      // Outside a unit the same compiled statement is its own unit.
      await db.run(call, insertItem, { title: 'p2' });
      expect(await db.run(call, listTitles, {})).toEqual([{ title: 'p2' }]);
    });

    it('runs concurrent calls inside one transaction one at a time, and a failure fails it all', async () => {
      const db = ctx.db();
      const owner = await newOwner(db, 'concurrent');
      const call = { actor: userActor(owner.id), crypto: undefined };
      await db.unit(call, 'write', (tx) =>
        Promise.all(
          Array.from({ length: 10 }, (_, i) => tx.run(call, insertItem, { title: `c${i}` })),
        ),
      );
      expect(await titlesOf(db, owner.id)).toHaveLength(10);
      // One call fails (a NOT NULL title); the caller swallows it: the transaction still fails.
      const other = await newOwner(db, 'concurrent-fail');
      const call2 = { actor: userActor(other.id), crypto: undefined };
      await expect(
        db.unit(call2, 'write', async (tx) => {
          const results = await Promise.allSettled([
            tx.run(call2, insertItem, { title: 'kept?' }),
            tx.run(call2, insertItem, { title: null }),
            tx.run(call2, insertItem, { title: 'after' }),
          ]);
          expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
          return 'caller thinks it is fine';
        }),
      ).rejects.toBeInstanceOf(NotNullViolationError);
      expect(await titlesOf(db, other.id)).toEqual([]);
    });

    it('sets transaction-local settings that end with the transaction', async () => {
      const db = ctx.db();
      await expect(db.setLocal({ 'app.user_id': 'x' })).rejects.toThrow(/needs a transaction/);
      await db.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': 'u-1' });
        if (ctx.dialect === 'postgres') {
          const [row] = await tx.execute<{ v: string }>(
            sql`select current_setting('app.user_id', true) as v`,
          );
          expect(row?.v).toBe('u-1');
        }
      });
      if (ctx.dialect === 'postgres') {
        const [row] = await db.execute<{ v: string | null }>(
          sql`select nullif(current_setting('app.user_id', true), '') as v`,
        );
        expect(row?.v ?? null).toBeNull();
      }
    });
  });
}
