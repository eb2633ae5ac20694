import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  CheckViolationError,
  type DomainContext,
  type Executor,
  insertMany,
  PermissionError,
  run,
  runMany,
  serviceActor,
  statement,
  UniqueViolationError,
  userActor,
  ValidationError,
} from '../../src/index.ts';
import { sampleItems, sampleOwners } from '../../testing/sample-schema.ts';
import type { SuiteContext } from './context.ts';

async function newOwner(db: Executor) {
  const [row] = await db.db
    .insert(db.table(sampleOwners))
    .values({ email: `bulk-${Math.random().toString(36).slice(2)}@example.test` })
    .returning();
  return row!;
}

async function countOf(db: Executor, ownerId: string) {
  const items = db.table(sampleItems);
  const [row] = await db.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(items)
    .where(eq(items.ownerId, ownerId));
  return row!.n;
}

const insertTitle = statement.count(
  'test.bulk.insertTitle',
  sampleItems,
  ['title', 'score'],
  ({ db, t, $, owner }) => db.insert(t).values({ ownerId: owner, title: $.title, score: $.score }),
);

const rowsOf = (n: number, prefix = 't') =>
  Array.from({ length: n }, (_, i) => ({ title: `${prefix}${i}`, score: i % 101 }));

// A statement compiled once must not freeze "now" for columns Drizzle fills on update.
const rename = statement.count(
  'test.bulk.rename',
  sampleItems,
  ['title', 'id'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ title: $.bind(t.title, 'title') })
      .where(sql`${t.id} = ${$.id} and ${owned()}`),
);
const updatedAtOf = statement.maybe(
  'test.bulk.updatedAt',
  sampleItems,
  ['id'],
  ({ db, t, $, owned }) =>
    db.select({ updatedAt: t.updatedAt }).from(t).where(sql`${t.id} = ${$.id} and ${owned()}`),
);

export function bulkSuite(ctx: SuiteContext) {
  describe(`bulk inserts (${ctx.dialect})`, () => {
    const as = (actor: DomainContext['actor']): DomainContext => ({
      exec: ctx.db(),
      actor,
      crypto: undefined as never,
    });

    it('inserts thousands of rows in chunks for the acting user, with defaults filled', async () => {
      const owner = await newOwner(ctx.db());
      const n = await runMany(as(userActor(owner.id)), insertTitle, rowsOf(2500));
      expect(n).toBe(2500);
      expect(await countOf(ctx.db(), owner.id)).toBe(2500);
      // A second, different size reuses the statement kinds (remainders split).
      expect(await runMany(as(userActor(owner.id)), insertTitle, rowsOf(37, 'u'))).toBe(37);
      expect(await countOf(ctx.db(), owner.id)).toBe(2537);
    });

    it('writes nothing when one row fails in the database (a check, a duplicate)', async () => {
      const owner = await newOwner(ctx.db());
      const bad = rowsOf(1200);
      bad[1100] = { title: 'bad', score: 500 };
      await expect(runMany(as(userActor(owner.id)), insertTitle, bad)).rejects.toBeInstanceOf(
        CheckViolationError,
      );
      const dup = rowsOf(800);
      dup[700] = { title: 't3', score: 1 };
      await expect(runMany(as(userActor(owner.id)), insertTitle, dup)).rejects.toBeInstanceOf(
        UniqueViolationError,
      );
      expect(await countOf(ctx.db(), owner.id)).toBe(0);
    });

    it('validates every row before any SQL', async () => {
      const owner = await newOwner(ctx.db());
      const bad = rowsOf(50);
      bad[49] = { title: 'nul\u0000byte', score: 1 };
      await expect(runMany(as(userActor(owner.id)), insertTitle, bad)).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await countOf(ctx.db(), owner.id)).toBe(0);
    });

    it('insertMany: any kit table, owner from the actor, a service names it per row', async () => {
      const a = await newOwner(ctx.db());
      const b = await newOwner(ctx.db());
      expect(
        await insertMany(as(userActor(a.id)), sampleItems, [
          { ownerId: a.id, title: 'x', tags: ['one'] },
          { ownerId: a.id, title: 'y', tags: [] },
        ]),
      ).toBe(2);
      // A user cannot write rows for someone else.
      await expect(
        insertMany(as(userActor(a.id)), sampleItems, [{ ownerId: b.id, title: 'z', tags: [] }]),
      ).rejects.toBeInstanceOf(PermissionError);
      expect(
        await insertMany(as(serviceActor('import')), sampleItems, [
          { ownerId: a.id, title: 'svc', tags: [] },
          { ownerId: b.id, title: 'svc', tags: [] },
        ]),
      ).toBe(2);
      expect(await countOf(ctx.db(), a.id)).toBe(3);
      expect(await countOf(ctx.db(), b.id)).toBe(1);
      await expect(
        insertMany(as(userActor(a.id)), sampleItems, [
          { ownerId: a.id, title: 'p', tags: [] },
          { ownerId: a.id, title: 'q' },
        ]),
      ).rejects.toThrow(/same fields/);
      await expect(
        insertMany(as(userActor(a.id)), sampleItems, [{ title: 'p', nope: 1 } as never]),
      ).rejects.toBeInstanceOf(ValidationError);
      expect(await insertMany(as(userActor(a.id)), sampleItems, [])).toBe(0);
    });

    it('inside a transaction it joins it and rolls back with it', async () => {
      const owner = await newOwner(ctx.db());
      const me = as(userActor(owner.id));
      await expect(
        ctx.db().unit(me, 'write', async (tx) => {
          await runMany({ ...me, exec: tx }, insertTitle, rowsOf(300));
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await countOf(ctx.db(), owner.id)).toBe(0);
      await ctx
        .db()
        .unit(me, 'write', (tx) => runMany({ ...me, exec: tx }, insertTitle, rowsOf(3)));
      expect(await countOf(ctx.db(), owner.id)).toBe(3);
    });

    it('an update compiled once sets updated_at to the time of each call', async () => {
      const owner = await newOwner(ctx.db());
      const me = as(userActor(owner.id));
      await runMany(me, insertTitle, [{ title: 'first', score: 1 }]);
      const items = ctx.db().table(sampleItems);
      const [row] = await ctx
        .db()
        .db.select({ id: items.id })
        .from(items)
        .where(eq(items.ownerId, owner.id));
      await run(me, rename, { title: 'second', id: row!.id });
      const before = (await run(me, updatedAtOf, { id: row!.id }))!.updatedAt;
      await new Promise((r) => setTimeout(r, 15));
      await run(me, rename, { title: 'third', id: row!.id });
      const after = (await run(me, updatedAtOf, { id: row!.id }))!.updatedAt;
      expect(after.getTime()).toBeGreaterThan(before.getTime());
      expect(Math.abs(after.getTime() - Date.now())).toBeLessThan(5000);
    });
  });
}
