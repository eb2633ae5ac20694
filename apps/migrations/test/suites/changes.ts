import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/generate.ts';
import { migrate, rollback } from '../../src/migrator.ts';
import { push } from '../../src/push.ts';
import { loadSource } from '../../src/source.ts';
import { actualShape, verify } from '../../src/verify.ts';
import { copyDir, FIXTURES, sourceV2 } from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function changesSuite(ctx: MigrationsContext) {
  describe(`schema changes (${ctx.dialect})`, () => {
    async function pushedWithData() {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      await push(test.db, dir, sourceV2);
      await test.db.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        await tx.execute(sql`insert into fixture_notes (organization_id, kind, body) values
          (${crypto.randomUUID()}, 'memo', 'first'), (${crypto.randomUUID()}, 'task', 'second')`);
      });
      return { test, dir };
    }

    const notes = async (db: import('@exora/core').Database) =>
      db.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        return tx.execute<{ kind: string; updated_at: unknown }>(
          sql`select kind, updated_at from fixture_notes order by kind`,
        );
      });

    it('the next migration applies with data in place (a SQLite rebuild keeps rows and triggers), and rolls back', async () => {
      const { test, dir } = await pushedWithData();
      const v2Shape = await actualShape(test.db);
      const variant = await loadSource([`${FIXTURES}v2-nullable.ts`]);
      const written = await generate({ source: variant, dir, allowDestructive: 'test: rebuild' });
      expect(written.map((r) => r.name)).toEqual([
        '0003_alter_fixture_kinds_fixture_notes',
        '0003_alter_fixture_kinds_fixture_notes',
      ]);

      expect((await migrate(test.db, dir)).applied).toEqual([
        '0003_alter_fixture_kinds_fixture_notes',
      ]);
      expect((await verify(test.db, variant)).differences).toEqual([]);
      const rows = await notes(test.db);
      expect(rows.map((r) => r.kind)).toEqual(['memo', 'task']);
      const kinds = await test.db.execute<{ n: number }>(
        sql`select count(*) as n from fixture_kinds`,
      );
      expect(Number(kinds[0]!.n)).toBe(3);

      // The updated_at trigger survived (SQLite: re-created after the rebuild) and works.
      await sleep(5);
      await test.db.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        await tx.execute(sql`update fixture_notes set body = null where kind = 'memo'`);
      });
      const after = await notes(test.db);
      const time = (v: unknown) => new Date(v as string | number).getTime();
      expect(time(after[0]!.updated_at)).toBeGreaterThan(time(rows[0]!.updated_at));
      expect(time(after[1]!.updated_at)).toBe(time(rows[1]!.updated_at));

      await test.db.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        await tx.execute(sql`update fixture_notes set body = 'back' where body is null`);
      });
      expect((await rollback(test.db, dir)).rolledBack).toEqual([
        '0003_alter_fixture_kinds_fixture_notes',
      ]);
      expect((await verify(test.db, sourceV2)).differences).toEqual([]);
      expect(await actualShape(test.db)).toEqual(v2Shape);
      expect((await notes(test.db)).map((r) => r.kind)).toEqual(['memo', 'task']);
    });

    it('a rename (drop and add) and a policy change apply and roll back', async () => {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      await push(test.db, dir, sourceV2);
      const renamed = await loadSource([`${FIXTURES}v2-rename-body.ts`]);
      await generate({ source: renamed, dir, allowDestructive: 'test: body becomes content' });
      const policy = await loadSource([`${FIXTURES}v2-user-scoped.ts`]);
      // v2-user-scoped keeps `body`: going there from the rename drops `content` again.
      await generate({ source: policy, dir, allowDestructive: 'test: content becomes body' });
      const applied = (await migrate(test.db, dir)).applied;
      expect(applied).toHaveLength(2);
      expect((await verify(test.db, policy)).differences).toEqual([]);
      const shape = await actualShape(test.db);
      if (ctx.dialect === 'postgres') {
        expect(shape.tables.fixture_notes!.policies.map((p) => p.name)).toEqual([
          'fixture_notes_user_isolation',
        ]);
        expect(shape.tables.fixture_notes!.rlsForced).toBe(true);
      }
      await rollback(test.db, dir);
      expect((await verify(test.db, renamed)).differences).toEqual([]);
      await rollback(test.db, dir);
      expect((await verify(test.db, sourceV2)).differences).toEqual([]);
    });
  });
}
