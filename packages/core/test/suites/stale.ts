import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { run, statement, userActor } from '../../src/index.ts';
import { sampleItems, sampleOwners } from '../../testing/sample-schema.ts';
import type { SuiteContext } from './context.ts';

const staleTitles = statement.many(
  'test.stale.titles',
  sampleItems,
  [],
  ({ db, t, owned }) => db.select({ title: t.title }).from(t).where(owned()),
  { stale: true },
);
const staleInsert = statement.count(
  'test.stale.insert',
  sampleItems,
  ['title'],
  ({ db, t, $, owner }) => db.insert(t).values({ ownerId: owner, title: $.title, score: 1 }),
  { stale: true },
);
const staleLock = statement.many(
  'test.stale.lock',
  sampleItems,
  [],
  ({ db, t, owned }) => db.select({ title: t.title }).from(t).where(owned()).for('update'),
  { stale: true },
);

/** Statements marked stale: plain reads only, run like any other without replicas. */
export function staleSuite(ctx: SuiteContext) {
  describe(`stale statements (${ctx.dialect})`, () => {
    it('run on the database itself when it has no replicas', async () => {
      const db = ctx.db();
      const [owner] = await db.db
        .insert(db.table(sampleOwners))
        .values({ email: 'stale@example.test' })
        .returning();
      await db.db
        .insert(db.table(sampleItems))
        .values({ ownerId: owner!.id, title: 'seen', score: 1 });
      const call = { exec: db, actor: userActor(owner!.id), crypto: undefined as never };
      expect(await run(call, staleTitles, {})).toEqual([{ title: 'seen' }]);
      const items = db.table(sampleItems);
      await db.db.delete(items).where(eq(items.ownerId, owner!.id));
    });

    it('refuse, at first use, to write or take locks', async () => {
      const db = ctx.db();
      const call = {
        exec: db,
        actor: userActor('00000000-0000-4000-8000-000000000001'),
        crypto: undefined as never,
      };
      await expect(run(call, staleInsert, { title: 'x' })).rejects.toThrow(
        'Statement test.stale.insert writes or locks: only a plain read may be stale',
      );
      if (ctx.dialect === 'postgres') {
        await expect(run(call, staleLock, {})).rejects.toThrow(
          'Statement test.stale.lock writes or locks: only a plain read may be stale',
        );
      }
    });
  });
}
