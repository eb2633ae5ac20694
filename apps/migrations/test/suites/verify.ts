import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { push } from '../../src/push.ts';
import type { Difference, VerifyReport } from '../../src/verify.ts';
import { verify } from '../../src/verify.ts';
import { cli, FIXTURES, runMain, sourceV2 } from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

const brief = (d: Difference) => `${d.table ?? '-'} ${d.object} ${d.name} ${d.problem}`;

export function verifySuite(ctx: MigrationsContext) {
  describe(`verify (${ctx.dialect})`, () => {
    const verifyCli = (url: string, ...flags: string[]) =>
      cli(['verify', '--url', url, '--dir', ctx.dir(), '--schema', `${FIXTURES}v2.ts`, ...flags]);

    it('is clean on a pushed database, with exit code 0 and a readable report', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const { code, out } = await verifyCli(test.url);
      expect(code).toBe(0);
      expect(out).toContain('OK: the database matches the schema (4 tables');
      const json = await verifyCli(test.url, '--json');
      expect(json.code).toBe(0);
      const report = JSON.parse(json.out) as VerifyReport;
      expect(report).toMatchObject({
        ok: true,
        dialect: ctx.dialect,
        differences: [],
        migrations: { applied: 2, pending: [], problems: [], stale: false },
      });
    });

    it('catches a dropped column, a dropped index and a missing trigger', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const q = ctx.dialect === 'postgres' ? '"' : '`';
      await test.db.execute(sql.raw(`ALTER TABLE ${q}fixture_notes${q} DROP COLUMN ${q}body${q}`));
      await test.db.execute(sql.raw('DROP INDEX sample_items_owner_idx'));
      await test.db.execute(
        sql.raw(
          ctx.dialect === 'postgres'
            ? 'DROP TRIGGER fixture_notes_touch_updated_at ON fixture_notes'
            : 'DROP TRIGGER fixture_notes_touch_updated_at',
        ),
      );
      const report = await verify(test.db, sourceV2);
      expect(report.ok).toBe(false);
      expect(report.differences.map(brief).sort()).toEqual([
        'fixture_notes column body missing',
        // Postgres dropped the trigram index on body with the column.
        ...(ctx.dialect === 'postgres'
          ? ['fixture_notes index fixture_notes_body_trgm missing']
          : []),
        'fixture_notes trigger fixture_notes_touch_updated_at missing',
        'sample_items index sample_items_owner_idx missing',
      ]);
      const { code, out } = await verifyCli(test.url);
      expect(code).toBe(1);
      expect(out).toContain(`DRIFT: ${ctx.dialect === 'postgres' ? 4 : 3} difference(s)`);
      expect(out).toContain('  table fixture_notes\n    - column body: missing');
      expect(out).toContain('    - trigger fixture_notes_touch_updated_at: missing');
      expect(out).toContain('  table sample_items\n    - index sample_items_owner_idx: missing');
      const json = await verifyCli(test.url, '--json');
      expect(json.code).toBe(1);
      expect((JSON.parse(json.out) as VerifyReport).differences).toHaveLength(
        ctx.dialect === 'postgres' ? 4 : 3,
      );
    });

    it('catches changed types, nullability, defaults, keys, foreign key actions, uniques, checks and extra objects', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      if (ctx.dialect === 'postgres') {
        for (const s of [
          'ALTER TABLE fixture_kinds ALTER COLUMN position TYPE bigint',
          'ALTER TABLE fixture_kinds ALTER COLUMN label DROP NOT NULL',
          'ALTER TABLE sample_items ALTER COLUMN position SET DEFAULT 7',
          'ALTER TABLE fixture_notes DROP CONSTRAINT fixture_notes_author_id_sample_owners_id_fk',
          'ALTER TABLE fixture_notes ADD CONSTRAINT fixture_notes_author_id_sample_owners_id_fk FOREIGN KEY (author_id) REFERENCES sample_owners(id) ON DELETE CASCADE',
          'ALTER TABLE sample_items DROP CONSTRAINT sample_items_score_range',
          'ALTER TABLE sample_items ADD CONSTRAINT sample_items_score_range CHECK (score between 0 and 10)',
          'CREATE TABLE stray (id integer)',
          'CREATE INDEX stray_idx ON sample_owners (email)',
          'ALTER TABLE sample_items DROP CONSTRAINT sample_items_owner_title_unique',
          'ALTER TABLE fixture_kinds DROP CONSTRAINT fixture_kinds_pkey CASCADE',
        ])
          await test.db.execute(sql.raw(s));
      } else {
        // SQLite changes these only by rebuilding a table: rebuild fixture_kinds by hand.
        await test.db.execute(sql.raw('PRAGMA foreign_keys=OFF'));
        for (const s of [
          'CREATE TABLE `__k` (`id` text PRIMARY KEY NOT NULL, `label` text, `position` real DEFAULT 5 NOT NULL)',
          'INSERT INTO `__k` SELECT * FROM `fixture_kinds`',
          'DROP TABLE `fixture_kinds`',
          'ALTER TABLE `__k` RENAME TO `fixture_kinds`',
          'CREATE TABLE stray (id integer)',
          'CREATE INDEX stray_idx ON sample_owners (email)',
          'DROP INDEX sample_items_owner_title_unique',
        ])
          await test.db.execute(sql.raw(s));
        await test.db.execute(sql.raw('PRAGMA foreign_keys=ON'));
      }
      const report = await verify(test.db, sourceV2);
      const found = report.differences.map(
        (d) => `${d.table} ${d.object} ${d.name} ${d.problem}${d.property ? ` ${d.property}` : ''}`,
      );
      expect(found).toContain('fixture_kinds column position different type');
      expect(found).toContain('fixture_kinds column label different notNull');
      expect(found).toContain('stray table stray unexpected');
      expect(found).toContain('sample_owners index stray_idx unexpected');
      expect(found).toContain('sample_items unique sample_items_owner_title_unique missing');
      if (ctx.dialect === 'postgres') {
        expect(found).toContain('sample_items column position different default');
        expect(found).toContain(
          'fixture_notes foreign key (author_id) -> sample_owners(id) different onDelete',
        );
        expect(found).toContain('sample_items check sample_items_score_range different definition');
        expect(found).toContain(
          'fixture_kinds primary key fixture_kinds primary key different columns',
        );
        // CASCADE took the foreign key that needed the key with it.
        expect(found).toContain('fixture_notes foreign key (kind) -> fixture_kinds(id) missing');
      } else {
        expect(found).toContain('fixture_kinds column position different default');
      }
    });

    if (ctx.dialect === 'postgres') {
      it('catches a missing extension and the index that needed it', async () => {
        const test = await ctx.database();
        await push(test.db, ctx.dir(), sourceV2);
        await test.db.execute(sql.raw('DROP EXTENSION pg_trgm CASCADE'));
        const report = await verify(test.db, sourceV2);
        expect(report.differences.map(brief).sort()).toEqual([
          '- extension pg_trgm missing',
          'fixture_notes index fixture_notes_body_trgm missing',
        ]);
      });

      it('catches row-level security that is not forced and a policy that changed', async () => {
        const test = await ctx.database();
        await push(test.db, ctx.dir(), sourceV2);
        await test.db.execute(sql.raw('ALTER TABLE sample_items NO FORCE ROW LEVEL SECURITY'));
        await test.db.execute(
          sql.raw('ALTER POLICY sample_items_user_isolation ON sample_items USING (true)'),
        );
        const report = await verify(test.db, sourceV2);
        expect(report.differences.map((d) => `${brief(d)} ${d.property}`).sort()).toEqual([
          'sample_items policy sample_items_user_isolation different using',
          'sample_items row level security row level security different forced',
        ]);
      });
    }

    it('the human report shows the SQL that repairs each difference, and running it repairs the database', async () => {
      const test = await ctx.database();
      await push(test.db, ctx.dir(), sourceV2);
      const { introspect } = await import('@exora/core');
      const policy = (await introspect(test.db)).tables.fixture_notes!.policies[0]?.name;
      const damage =
        ctx.dialect === 'postgres'
          ? [
              'DROP INDEX sample_items_owner_idx',
              'DROP TRIGGER fixture_notes_touch_updated_at ON fixture_notes',
              'ALTER TABLE sample_items ADD COLUMN junk text',
              'CREATE INDEX stray_idx ON sample_owners (email)',
              'ALTER TABLE sample_items ALTER COLUMN position SET DEFAULT 7',
              'ALTER TABLE fixture_kinds ALTER COLUMN label DROP NOT NULL',
              'ALTER TABLE fixture_notes NO FORCE ROW LEVEL SECURITY',
              `DROP POLICY ${policy} ON fixture_notes`,
              'DROP VIEW sample_item_counts',
            ]
          : [
              'DROP INDEX sample_items_owner_idx',
              'DROP TRIGGER fixture_notes_touch_updated_at',
              'ALTER TABLE sample_items ADD COLUMN junk text',
              'CREATE INDEX stray_idx ON sample_owners (email)',
              'DROP VIEW sample_item_counts',
            ];
      for (const s of damage) await test.db.execute(sql.raw(s));
      const report = await verify(test.db, sourceV2);
      expect(report.differences.length).toBeGreaterThanOrEqual(damage.length);
      const { out, code } = await verifyCli(test.url);
      expect(code).toBe(1);
      const json = JSON.parse((await verifyCli(test.url, '--json')).out) as VerifyReport;
      for (const d of json.differences) {
        // Every difference here has SQL, shown under it in the human report.
        expect({ d: brief(d), sql: d.repair?.sql.length ?? 0 }).not.toMatchObject({ sql: 0 });
        for (const statement of d.repair!.sql) expect(out).toContain(statement.split('\n')[0]);
      }
      expect(out).toContain('The indented SQL repairs each difference');
      // The printed SQL, run in order, brings the database back to the schema.
      for (const d of json.differences) {
        for (const statement of d.repair!.sql) await test.db.execute(sql.raw(statement));
      }
      expect((await verify(test.db, sourceV2)).differences.map(brief)).toEqual([]);
    });

    if (ctx.dialect === 'sqlite') {
      it('SQLite: what it cannot change in place gets a note instead of SQL', async () => {
        const test = await ctx.database();
        await push(test.db, ctx.dir(), sourceV2);
        await test.db.execute(sql.raw('PRAGMA foreign_keys=OFF'));
        for (const s of [
          'CREATE TABLE `__k` (`id` text PRIMARY KEY NOT NULL, `label` text NOT NULL, `position` real DEFAULT 0 NOT NULL)',
          'INSERT INTO `__k` SELECT * FROM `fixture_kinds`',
          'DROP TABLE `fixture_kinds`',
          'ALTER TABLE `__k` RENAME TO `fixture_kinds`',
        ])
          await test.db.execute(sql.raw(s));
        await test.db.execute(sql.raw('PRAGMA foreign_keys=ON'));
        const { out } = await verifyCli(test.url);
        expect(out).toContain('    ~ column position: type is real, expected integer');
        expect(out).toContain(
          '        -- SQLite cannot change this in place: the table must be rebuilt',
        );
      });
    }

    it('exits 2 with a clear message when the database cannot be reached', async () => {
      const url =
        ctx.dialect === 'postgres'
          ? 'postgres://nobody@127.0.0.1:1/none'
          : `${ctx.track(`/tmp/exora-missing-${Date.now()}`)}/none.db`;
      const result = await runMain(['verify', '--url', url, '--schema', `${FIXTURES}v2.ts`]);
      expect(result.code).toBe(2);
      expect(result.err).toMatch(
        ctx.dialect === 'postgres' ? /Cannot connect to postgres:\/\// : /No SQLite database at/,
      );
    });
  });
}
