import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/migrator.ts';
import { seed } from '../../src/seed.ts';
import { referenceData, sourceFromModules } from '../../src/source.ts';
import * as v2 from '../fixtures/v2.ts';
import { cli, FIXTURES, sourceV2 } from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

export function seedSuite(ctx: MigrationsContext) {
  describe(`seed (${ctx.dialect})`, () => {
    it('inserts reference rows once, leaving rows already there as they are', async () => {
      const test = await ctx.database();
      await migrate(test.db, ctx.dir());
      await test.db.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        await tx.execute(sql`insert into fixture_kinds (id, label) values ('memo', 'Edited memo')`);
      });
      const first = await cli(['seed', '--url', test.url, '--schema', `${FIXTURES}v2.ts`]);
      expect(first.out).toContain('seeded 2 rows (fixture_kinds 2/3)');
      expect((await seed(test.db, sourceV2)).inserted).toBe(0);
      const rows = await test.db.execute<{ id: string; label: string }>(
        sql`select id, label from fixture_kinds order by id`,
      );
      expect(rows.map((r) => `${r.id}:${r.label}`)).toEqual([
        'idea:Idea',
        'memo:Edited memo',
        'task:Task',
      ]);
    });

    it('inserts referenced reference rows first', async () => {
      const test = await ctx.database();
      await migrate(test.db, ctx.dir());
      const id = crypto.randomUUID();
      // Listed before the kinds they point at.
      const notes = referenceData(v2.fixtureNotes, [
        { id, organizationId: crypto.randomUUID(), kind: 'idea', body: 'seeded' } as any,
      ]);
      const result = await seed(test.db, sourceFromModules('ordered', [{ notes }, v2]));
      expect(result.tables.map((t) => `${t.table} ${t.inserted}`)).toEqual([
        'fixture_kinds 3',
        'fixture_notes 1',
      ]);
    });

    it('refuses reference rows that set neither a primary key nor a unique key', async () => {
      const test = await ctx.database();
      await migrate(test.db, ctx.dir());
      const source = sourceFromModules('bad', [
        v2,
        {
          bad: referenceData(v2.fixtureNotes, [
            { organizationId: crypto.randomUUID(), kind: 'memo', body: 'x' } as any,
          ]),
        },
      ]);
      await expect(seed(test.db, source)).rejects.toThrow(
        /Reference row 1 of fixture_notes sets neither its primary key nor a unique key/,
      );
    });
  });
}
