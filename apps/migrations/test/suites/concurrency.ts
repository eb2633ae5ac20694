import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATION_LOCK, readHistory } from '../../src/migrator.ts';
import { actualShape } from '../../src/verify.ts';
import { pgAdmin, spawnCli } from '../helpers.ts';
import type { MigrationsContext } from './context.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const appliedLines = (stdout: string) =>
  stdout.split('\n').filter((l) => /^applied \d{4}_/.test(l));

export function concurrencySuite(ctx: MigrationsContext) {
  describe(`concurrent migrate (${ctx.dialect})`, () => {
    it('two processes migrating one database at once apply each migration once', async () => {
      const test = await ctx.database();
      const args = ['migrate', '--url', test.url, '--dir', ctx.dir()];
      // Hold the migration lock so both processes are surely waiting on it at the same time.
      let release: () => Promise<void>;
      let bothWaiting: () => Promise<boolean> | boolean;
      const started: string[] = [];
      if (ctx.dialect === 'postgres') {
        const admin = pgAdmin(new URL(test.url).pathname.slice(1));
        await admin`select pg_advisory_lock(${MIGRATION_LOCK})`;
        bothWaiting = async () => {
          const [row] = await admin`
            select count(*)::int as n from pg_locks
            where locktype = 'advisory' and not granted and database = (
              select oid from pg_database where datname = current_database())`;
          return row!.n === 2;
        };
        release = async () => {
          await admin`select pg_advisory_unlock(${MIGRATION_LOCK})`;
          await admin.end();
        };
      } else {
        const holder = new BetterSqlite3(test.url);
        holder.exec('BEGIN IMMEDIATE');
        // Both print their header once connected, then block on BEGIN IMMEDIATE (busy timeout).
        bothWaiting = () => started.length === 2;
        release = async () => {
          await sleep(300);
          holder.exec('COMMIT');
          holder.close();
        };
      }
      const a = spawnCli(args, {}, (l) => l.startsWith('migrate ') && started.push('a'));
      const b = spawnCli(args, {}, (l) => l.startsWith('migrate ') && started.push('b'));
      await until(bothWaiting, 'both migrate processes to wait for the lock');
      await release!();
      const [ra, rb] = await Promise.all([a.done, b.done]);
      expect({ code: ra.code, stderr: ra.stderr }).toEqual({ code: 0, stderr: '' });
      expect({ code: rb.code, stderr: rb.stderr }).toEqual({ code: 0, stderr: '' });
      const applied = [...appliedLines(ra.stdout), ...appliedLines(rb.stdout)]
        .map((l) => l.split(' ')[1])
        .sort();
      expect(applied).toEqual(['0001_init', '0002_create_fixture_kinds_fixture_notes']);
      expect((await readHistory(test.db)).map((h) => h.name)).toEqual(applied);
      expect(Object.keys((await actualShape(test.db)).tables)).toHaveLength(4);
    });
  });
}
