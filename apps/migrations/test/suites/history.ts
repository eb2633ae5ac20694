import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/errors.ts';
import { migrate, readHistory, rollback, status } from '../../src/migrator.ts';
import { push } from '../../src/push.ts';
import { actualShape, verify } from '../../src/verify.ts';
import {
  cli,
  copyDir,
  FIXTURES,
  runMain,
  sourceV1,
  sourceV2,
  tableNames,
  writeCustomMigration,
} from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

export function historySuite(ctx: MigrationsContext) {
  describe(`migrate, status and rollback (${ctx.dialect})`, () => {
    it('rollback then migrate returns to the same verified state', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const before = await actualShape(test.db);

      const back = await cli(['rollback', '--url', test.url, '--dir', ctx.dir()]);
      expect(back).toEqual({
        code: 0,
        out: `rollback ${ctx.dialect} ${test.db.safeUrl}\nrolled back 0002_create_fixture_kinds_fixture_notes`,
        err: '',
      });
      expect((await readHistory(test.db)).map((h) => h.name)).toEqual(['0001_init']);
      expect(await tableNames(test.db)).toEqual(['sample_items', 'sample_owners']);
      expect((await verify(test.db, sourceV1)).differences).toEqual([]);
      expect((await verify(test.db, sourceV2)).ok).toBe(false);
      const drift = await cli([
        'verify',
        '--url',
        test.url,
        '--dir',
        ctx.dir(),
        '--schema',
        `${FIXTURES}v2.ts`,
      ]);
      expect(drift.code).toBe(1);
      expect(drift.out).toContain(
        '  1 migration(s) not applied: 0002_create_fixture_kinds_fixture_notes; run pnpm db:migrate or pnpm db:push',
      );

      const forward = await cli(['migrate', '--url', test.url, '--dir', ctx.dir()]);
      expect(forward.code).toBe(0);
      expect(forward.out).toMatch(
        /applied 0002_create_fixture_kinds_fixture_notes .*\napplied 1 migration$/,
      );
      expect(await actualShape(test.db)).toEqual(before);
      expect((await verify(test.db, sourceV2)).differences).toEqual([]);
    });

    it('rolls back every migration down to an empty database, and migrates it up again', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const before = await actualShape(test.db);
      expect((await rollback(test.db, ctx.dir(), 5)).rolledBack).toEqual([
        '0002_create_fixture_kinds_fixture_notes',
        '0001_init',
      ]);
      const empty = await actualShape(test.db);
      expect(empty.tables).toEqual({});
      expect(empty.views).toEqual({});
      expect(empty.triggers).toEqual({});
      expect(empty.functions).toEqual({});
      expect(empty.enums).toEqual({});
      const { out } = await cli(['rollback', '--url', test.url, '--dir', ctx.dir()]);
      expect(out).toContain('nothing to roll back: no migration is applied');
      expect((await migrate(test.db, ctx.dir())).applied).toHaveLength(2);
      expect(await actualShape(test.db)).toEqual(before);
    });

    it('status lists applied and pending migrations', async () => {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      await migrate(test.db, dir);
      writeCustomMigration(
        dir,
        ctx.dialect,
        '0003_more',
        ['CREATE TABLE more_things (id integer)'],
        ['DROP TABLE more_things'],
      );
      const entries = await status(test.db, dir);
      expect(entries.map((e) => [e.name, e.state])).toEqual([
        ['0001_init', 'applied'],
        ['0002_create_fixture_kinds_fixture_notes', 'applied'],
        ['0003_more', 'pending'],
      ]);
      expect(entries[0]!.appliedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      const text = await cli(['status', '--url', test.url, '--dir', dir]);
      expect(text.code).toBe(0);
      expect(text.out).toMatch(/ {2}applied {6}0001_init {2}\d{4}-/);
      expect(text.out).toContain('  pending      0003_more');
      expect(text.out).toContain('2 applied, 1 pending');
      const json = await cli(['status', '--url', test.url, '--dir', dir, '--json']);
      expect(JSON.parse(json.out).migrations).toHaveLength(3);
    });

    it('refuses a migration edited after it was applied', async () => {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      await migrate(test.db, dir);
      appendFileSync(join(dir, ctx.dialect, '0001_init.sql'), '-- a harmless looking edit\n');
      writeCustomMigration(dir, ctx.dialect, '0003_more', [
        'CREATE TABLE more_things (id integer)',
      ]);
      await expect(migrate(test.db, dir)).rejects.toThrow(
        /Migration 0001_init was edited after it was applied \(its checksum differs/,
      );
      await expect(rollback(test.db, dir)).resolves.toBeDefined(); // 0002 is untouched
      await expect(rollback(test.db, dir)).rejects.toThrow(
        /Cannot roll back 0001_init: the file was edited/,
      );
      expect(await tableNames(test.db)).not.toContain('more_things');
      const { code, out } = await cli(['status', '--url', test.url, '--dir', dir]);
      expect(code).toBe(1);
      expect(out).toContain('  edited       0001_init');
    });

    it('refuses a migration older than the newest applied one', async () => {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      writeCustomMigration(dir, ctx.dialect, '0004_later', [
        'CREATE TABLE later_things (id integer)',
      ]);
      expect((await migrate(test.db, dir)).applied).toHaveLength(3);
      writeCustomMigration(dir, ctx.dialect, '0003_late_merge', ['CREATE TABLE late (id integer)']);
      const result = await runMain(['migrate', '--url', test.url, '--dir', dir]);
      expect(result.code).toBe(1);
      expect(result.err).toContain(
        'Migration 0003_late_merge is older than 0004_later, the newest applied one',
      );
      expect(await tableNames(test.db)).not.toContain('late');
    });

    it('a failed migration leaves the database as it was', async () => {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      await push(test.db, dir, sourceV2);
      const before = await actualShape(test.db);
      writeCustomMigration(dir, ctx.dialect, '0003_broken', [
        'CREATE TABLE side_effect (id integer)',
        'INSERT INTO side_effect (id) VALUES (1)',
        'ALTER TABLE no_such_table ADD COLUMN x integer',
      ]);
      const error = await migrate(test.db, dir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as Error).message).toMatch(
        /^Migration 0003_broken failed at statement 3 of 3 \(ALTER TABLE no_such_table ADD COLUMN x integer\): .*no_such_table/,
      );
      expect(await actualShape(test.db)).toEqual(before);
      expect((await readHistory(test.db)).map((h) => h.name)).toEqual([
        '0001_init',
        '0002_create_fixture_kinds_fixture_notes',
      ]);
      expect((await verify(test.db, sourceV2)).ok).toBe(true);
    });

    it('refuses a custom migration left empty', async () => {
      const test = await ctx.database();
      const dir = ctx.track(copyDir(ctx.dir()));
      const { generate } = await import('../../src/generate.ts');
      const [written] = await generate({
        source: sourceV2,
        dir,
        dialects: [ctx.dialect],
        custom: true,
        name: 'backfill',
      });
      expect(written!.name).toBe('0003_backfill');
      await expect(migrate(test.db, dir)).rejects.toThrow(
        'Migration 0003_backfill has no statements: write its SQL or delete the file.',
      );
      // The two before it were applied; the empty one was not.
      expect((await readHistory(test.db)).map((h) => h.name)).toHaveLength(2);
    });
  });
}
