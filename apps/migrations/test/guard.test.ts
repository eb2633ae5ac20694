/**
 * CI guards over the committed migrations (`drizzle/` at the repository root) and the real
 * schema (`@exora/db/schema`): a schema change without `pnpm db:generate`, a hand-edited
 * generated migration, or a destructive migration without its marker fails here.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Dialect } from '@exora/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptySnapshot, planMigration } from '../src/diff.ts';
import {
  defaultMigrationsDir,
  destructiveStatements,
  parseStatements,
  readMigrations,
  readSnapshot,
} from '../src/files.ts';
import { DIALECTS, generate } from '../src/generate.ts';
import { readHistory } from '../src/migrator.ts';
import { push } from '../src/push.ts';
import { loadSource, type SchemaSource } from '../src/source.ts';
import { verify } from '../src/verify.ts';
import { copyDir, freshDatabase } from './helpers.ts';

const root = defaultMigrationsDir();
let source: SchemaSource;
const made: string[] = [];

beforeAll(async () => {
  source = await loadSource();
});
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else out[rel] = readFileSync(join(dir, rel), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('committed drizzle/ against @exora/db/schema', () => {
  it('is current: generating again into a copy writes nothing', async () => {
    const copy = copyDir(root);
    made.push(copy);
    const results = await generate({ source, dir: copy, allowDestructive: 'guard' });
    const stale = results.filter((r) => r.status !== 'unchanged').map((r) => r.dialect);
    expect(
      stale,
      'The schema changed without `pnpm db:generate`: run it from apps/migrations and commit drizzle/',
    ).toEqual([]);
    expect(listing(copy)).toEqual(listing(root));
  });

  for (const dialect of DIALECTS) {
    it(`${dialect}: every generated migration is exactly what its snapshots give`, async () => {
      const files = readMigrations(root, dialect);
      let prev = await emptySnapshot(dialect);
      for (const file of files) {
        const cur = readSnapshot(file);
        if (!file.custom) {
          const plan = await planMigration(dialect, prev, cur);
          expect(parseStatements(file.up), `${file.name} was edited by hand`).toEqual(
            plan.up.statements,
          );
          expect(parseStatements(file.down ?? ''), `${file.name}.down was edited`).toEqual(
            plan.down.statements,
          );
        }
        prev = cur;
      }
    });

    it(`${dialect}: every migration has a down file and a snapshot; destructive ones a reason`, () => {
      for (const file of readMigrations(root, dialect)) {
        expect(file.down, `${file.downPath} is missing`).toBeDefined();
        expect(existsSync(file.snapshotPath), `${file.snapshotPath} is missing`).toBe(true);
        const destructive = destructiveStatements(parseStatements(file.up));
        if (destructive.length > 0) {
          expect(
            file.allowDestructive,
            `${file.name} ${destructive[0]!.reason} without an "-- exora:allow-destructive <reason>" line`,
          ).toBeTruthy();
        }
      }
    });
  }
});

describe('the real schema pushed to fresh databases', () => {
  for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
    it(`${dialect}: push, push again (a no-op), verify clean`, async () => {
      const test = await freshDatabase(dialect);
      try {
        const first = await push(test.db, root, source);
        expect(first.applied).toEqual(readMigrations(root, dialect).map((f) => f.name));
        const second = await push(test.db, root, source);
        expect(second.applied).toEqual([]);
        expect(second.seed.inserted).toBe(0);
        expect((await readHistory(test.db)).length).toBe(first.applied.length);
        const report = await verify(test.db, source);
        expect(report.differences).toEqual([]);
        expect(report.expected.tables).toBe(source.tables.length);
      } finally {
        await test.dispose();
      }
    });
  }
});
