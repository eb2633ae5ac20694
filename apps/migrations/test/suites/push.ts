import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { introspect } from '@exora/core';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { StaleMigrationsError } from '../../src/errors.ts';
import { readHistory } from '../../src/migrator.ts';
import { push } from '../../src/push.ts';
import { verify } from '../../src/verify.ts';
import {
  cli,
  copyDir,
  FIXTURES,
  fixtureMigrations,
  runMain,
  sourceV1,
  sourceV2,
  tableNames,
} from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

export function pushSuite(ctx: MigrationsContext) {
  describe(`push (${ctx.dialect})`, () => {
    it('brings a fresh database to the schema: migrations, triggers, policies, reference rows', async () => {
      const { db } = await ctx.database();
      const result = await push(db, ctx.dir(), sourceV2);
      expect(result.applied).toEqual(['0001_init', '0002_create_fixture_kinds_fixture_notes']);
      expect(result.seed).toMatchObject({ inserted: 3, rows: 3 });
      expect(await tableNames(db)).toEqual([
        'fixture_kinds',
        'fixture_notes',
        'sample_items',
        'sample_owners',
      ]);
      const shape = await introspect(db);
      expect(shape.tables.sample_items!.triggers).toEqual(['sample_items_touch_updated_at']);
      expect(shape.tables.fixture_notes!.triggers).toEqual(['fixture_notes_touch_updated_at']);
      if (ctx.dialect === 'postgres') {
        for (const t of ['sample_items', 'fixture_notes', 'fixture_kinds']) {
          expect(shape.tables[t]).toMatchObject({ rlsEnabled: true, rlsForced: true });
        }
        expect(shape.tables.sample_owners).toMatchObject({ rlsEnabled: false, rlsForced: false });
        expect(shape.tables.fixture_notes!.indexes.map((i) => i.name)).toContain(
          'fixture_notes_body_trgm',
        );
        const ext = await db.execute<{ extname: string }>(
          sql`select extname from pg_extension where extname = 'pg_trgm'`,
        );
        expect(ext).toHaveLength(1);
      }
      expect(shape.views).toEqual(['sample_item_counts']);
      expect((await verify(db, sourceV2)).differences).toEqual([]);
    });

    it('a second push changes nothing and says so', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const before = await readHistory(test.db);
      const again = await push(test.db, ctx.dir(), sourceV2);
      expect(again.applied).toEqual([]);
      expect(again.seed).toMatchObject({ inserted: 0, rows: 3 });
      expect(await readHistory(test.db)).toEqual(before);
      const { code, out } = await cli([
        'push',
        '--url',
        test.url,
        '--dir',
        ctx.dir(),
        '--schema',
        `${FIXTURES}v2.ts`,
      ]);
      expect(code).toBe(0);
      expect(out).toContain('already up to date: nothing applied');
      expect(out).toContain('reference data already present: 0 rows inserted (fixture_kinds 0/3)');
    });

    it('the CLI reports what a fresh push applied', async () => {
      const test = await ctx.database();
      const { code, out } = await cli([
        'push',
        '--url',
        test.url,
        '--dir',
        ctx.dir(),
        '--schema',
        `${FIXTURES}v2.ts`,
      ]);
      expect(code).toBe(0);
      expect(out).toMatch(/applied 0001_init \(\d+ statements, \d+ ms\)/);
      expect(out).toContain('applied 2 migrations; seeded 3 rows (fixture_kinds 3/3)');
    });

    it('refuses, applying nothing, when the schema has changes no migration covers', async () => {
      const { db } = await ctx.database();
      const onlyV1 = await fixtureMigrations();
      // drizzle/ as it was before v2 was generated: 0001 only.
      const { rmSync, readdirSync } = await import('node:fs');
      for (const d of ['sqlite', 'postgres']) {
        for (const f of readdirSync(`${onlyV1}/${d}`))
          if (f.startsWith('0002')) rmSync(`${onlyV1}/${d}/${f}`);
        rmSync(`${onlyV1}/${d}/meta/0002_snapshot.json`);
      }
      ctx.track(onlyV1);
      await expect(push(db, onlyV1, sourceV2)).rejects.toThrow(StaleMigrationsError);
      const stale = await cli([
        'push',
        '--url',
        (await import('../../src/files.ts')).databaseUrl(db.safeUrl),
        '--dir',
        onlyV1,
        '--schema',
        `${FIXTURES}v2.ts`,
      ]).catch((e: Error) => e.message);
      expect(stale).toMatch(
        /is behind the schema \(.*v2\.ts\): \d+ statement\(s\) are in no migration/,
      );
      await expect(push(db, onlyV1, sourceV2)).rejects.toThrow(/pnpm db:generate/);
      expect(await readHistory(db)).toEqual([]);
      expect(await tableNames(db)).toEqual([]);
      // The schema those files describe pushes fine; verify against v2 then says why it drifts.
      expect((await push(db, onlyV1, sourceV1)).applied).toEqual(['0001_init']);
      const { verify } = await import('../../src/verify.ts');
      const report = await verify(db, sourceV2, onlyV1);
      expect(report.migrations).toMatchObject({ pending: [], stale: true });
    });

    it('on a drifted database says so instead of only "already up to date", and exits 1', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      await test.db.execute(sql.raw('DROP INDEX sample_items_owner_idx'));
      const { code, out } = await cli([
        'push',
        '--url',
        test.url,
        '--dir',
        ctx.dir(),
        '--schema',
        `${FIXTURES}v2.ts`,
      ]);
      expect(code).toBe(1);
      expect(out).toContain('already up to date: nothing applied');
      expect(out).toContain(
        'DRIFT: the database still differs from the schema in 1 place (index sample_items_owner_idx missing)',
      );
      expect(out).toContain(
        'Run `pnpm db:verify` for every difference and the SQL that repairs it.',
      );
    });

    it('a generated migration whose schema change was undone: drizzle/ is ahead, and every command says so', async () => {
      // As after `pnpm db:generate` then `git checkout .`: 0001 committed, 0002 left untracked,
      // and the schema back at v1.
      const dir = ctx.track(copyDir(ctx.dir()));
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
          cwd: dir,
          stdio: 'ignore',
        });
      git('init', '-q');
      git(
        'add',
        ...['sqlite', 'postgres'].flatMap((d) => [
          `${d}/0001_init.sql`,
          `${d}/0001_init.down.sql`,
          `${d}/meta/0001_snapshot.json`,
        ]),
      );
      git('commit', '-qm', 'v1');
      const v1 = ['--dir', dir, '--schema', `${FIXTURES}v1.ts`];
      const ahead = '0002_create_fixture_kinds_fixture_notes';

      const fresh = await ctx.database();
      const refused = await runMain(['push', '--url', fresh.url, ...v1]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(
        `${dir}/${ctx.dialect} is ahead of the schema (${FIXTURES}v1.ts): ${ahead} (untracked by git: generated and never committed)`,
      );
      expect(refused.err).toContain('Do not run `pnpm db:generate`');
      expect(refused.err).not.toContain('behind');
      expect(refused.err).not.toContain('db:rollback');
      expect(await tableNames(fresh.db)).toEqual([]);

      // Pushed while the change was there: it says to roll 0002 back first.
      const applied = await ctx.database();
      await push(applied.db, ctx.dir(), sourceV2);
      const withIt = await runMain(['push', '--url', applied.url, ...v1]);
      expect(withIt.err).toContain(
        `The database has ${ahead} applied: run \`pnpm db:rollback --steps 1\``,
      );

      // verify: the human report and the JSON agree (stale), on a database that matches v1.
      const { migrate } = await import('../../src/migrator.ts');
      const only1 = ctx.track(copyDir(dir));
      for (const d of ['sqlite', 'postgres']) {
        for (const f of readdirSync(`${only1}/${d}`))
          if (f.startsWith('0002')) rmSync(`${only1}/${d}/${f}`);
        rmSync(`${only1}/${d}/meta/0002_snapshot.json`);
      }
      const v1db = await ctx.database();
      await migrate(v1db.db, only1);
      const human = await cli(['verify', '--url', v1db.url, ...v1]);
      const json = JSON.parse((await cli(['verify', '--json', '--url', v1db.url, ...v1])).out);
      expect(json.ok).toBe(true);
      expect(json.migrations).toMatchObject({
        stale: true,
        coverage: { state: 'ahead', ahead: [ahead], untracked: [ahead] },
      });
      expect(human.code).toBe(json.ok ? 0 : 1);
      expect(human.out).toContain('OK: the database matches the schema');
      expect(human.out).toContain(`  STALE: ${dir}/${ctx.dialect} is ahead of the schema`);
    });

    it('says "nothing to seed" when the schema has no reference data', async () => {
      const test = await ctx.database();
      const result = await push(test.db, ctx.dir(), { ...sourceV2, referenceData: [] });
      expect(result.seed).toEqual({ tables: [], inserted: 0, rows: 0 });
      const { out } = await cli(['seed', '--url', test.url, '--schema', `${FIXTURES}v1.ts`]);
      expect(out).toContain('nothing to seed: the schema has no reference data');
      const rows = await test.db.execute<{ n: number }>(
        sql`select count(*) as n from fixture_kinds`,
      );
      expect(Number(rows[0]!.n)).toBe(0);
    });
  });
}
