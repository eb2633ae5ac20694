import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sampleItems, sampleOwners } from '../../testing/sample-schema.ts';
import type { SuiteContext } from './context.ts';

export function columnSuite(ctx: SuiteContext) {
  describe(`column kinds round-trip (${ctx.dialect})`, () => {
    it('stores and returns every column kind with its TypeScript type', async () => {
      const db = ctx.db();
      const [owner] = await db.db
        .insert(db.table(sampleOwners))
        .values({ email: `rt-${Math.random()}@example.test` })
        .returning();
      const items = db.table(sampleItems);
      const due = new Date('2030-01-02T03:04:05.678Z');
      const [row] = await db.db
        .insert(items)
        .values({
          ownerId: owner!.id,
          title: 'Every kind ✓ 日本',
          body: "it's",
          position: 7,
          bytes: 2 ** 40,
          ratio: 0.25,
          score: 100,
          done: true,
          status: 'active',
          mood: 'busy',
          tags: ['a', 'b,c', '"q"'],
          settings: { theme: 'dark', flags: ['x'] },
          dueAt: due,
        })
        .returning();
      expect(row).toMatchObject({
        title: 'Every kind ✓ 日本',
        body: "it's",
        position: 7,
        bytes: 2 ** 40,
        ratio: 0.25,
        score: 100,
        done: true,
        status: 'active',
        mood: 'busy',
        tags: ['a', 'b,c', '"q"'],
        settings: { theme: 'dark', flags: ['x'] },
      });
      expect(row!.dueAt).toBeInstanceOf(Date);
      expect(row!.dueAt!.toISOString()).toBe(due.toISOString());
      expect(row!.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(row!.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(row!.id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );

      const [again] = await db.db.select().from(items).where(eq(items.id, row!.id));
      expect(again).toEqual(row);
    });

    it('applies database defaults to a raw SQL insert', async () => {
      const db = ctx.db();
      const [owner] = await db.db
        .insert(db.table(sampleOwners))
        .values({ email: `raw-${Math.random()}@example.test` })
        .returning();
      await db.execute(
        sql`insert into sample_items (owner_id, title) values (${owner!.id}, 'raw')`,
      );
      const items = db.table(sampleItems);
      const [row] = await db.db.select().from(items).where(eq(items.ownerId, owner!.id));
      expect(row).toMatchObject({
        title: 'raw',
        position: 0,
        done: false,
        status: 'draft',
        tags: [],
        settings: { theme: 'light' },
      });
      expect(row!.id).toHaveLength(36);
      expect(row!.updatedAt).toBeInstanceOf(Date);
    });

    it('cascades and nulls foreign keys as declared', async () => {
      const db = ctx.db();
      const owners = db.table(sampleOwners);
      const items = db.table(sampleItems);
      const [a] = await db.db
        .insert(owners)
        .values({ email: `a-${Math.random()}@x.test` })
        .returning();
      const [b] = await db.db
        .insert(owners)
        .values({ email: `b-${Math.random()}@x.test` })
        .returning();
      const [item] = await db.db
        .insert(items)
        .values({ ownerId: a!.id, reviewerId: b!.id, title: 'fk' })
        .returning();
      await db.db.delete(owners).where(eq(owners.id, b!.id));
      const [afterReviewer] = await db.db.select().from(items).where(eq(items.id, item!.id));
      expect(afterReviewer!.reviewerId).toBeNull();
      await db.db.delete(owners).where(eq(owners.id, a!.id));
      expect(await db.db.select().from(items).where(eq(items.id, item!.id))).toEqual([]);
    });
  });
}
