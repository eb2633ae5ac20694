/**
 * The kit's two tables must describe the same database: create the sample schema on both
 * dialects, read each back by introspection, and compare.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspect, type SchemaShape, type TableShape } from '../src/introspect.ts';
import { createTestDatabase, type TestDatabase } from '../testing/index.ts';
import * as sample from '../testing/sample-schema.ts';

/** How each dialect stores each kind of column (pg as information_schema names it). */
const STORAGE: Record<string, { pg: string; sqlite: string }> = {
  id: { pg: 'uuid', sqlite: 'text' },
  owner_id: { pg: 'uuid', sqlite: 'text' },
  reviewer_id: { pg: 'uuid', sqlite: 'text' },
  title: { pg: 'character varying', sqlite: 'text' },
  body: { pg: 'text', sqlite: 'text' },
  position: { pg: 'integer', sqlite: 'integer' },
  bytes: { pg: 'bigint', sqlite: 'integer' },
  ratio: { pg: 'double precision', sqlite: 'real' },
  score: { pg: 'integer', sqlite: 'integer' },
  done: { pg: 'boolean', sqlite: 'integer' },
  status: { pg: 'text', sqlite: 'text' },
  mood: { pg: 'sample_mood', sqlite: 'text' },
  tags: { pg: 'text[]', sqlite: 'text' },
  settings: { pg: 'jsonb', sqlite: 'text' },
  due_at: { pg: 'timestamp with time zone', sqlite: 'integer' },
  created_at: { pg: 'timestamp with time zone', sqlite: 'integer' },
  updated_at: { pg: 'timestamp with time zone', sqlite: 'integer' },
  email: { pg: 'text', sqlite: 'text' },
  display_name: { pg: 'character varying', sqlite: 'text' },
};

/** The facts both dialects must agree on, in a comparable form. */
function portable(t: TableShape) {
  return {
    columns: t.columns.map((c) => ({
      name: c.name,
      notNull: c.notNull,
      hasDefault: c.default !== null,
    })),
    primaryKey: t.primaryKey,
    foreignKeys: t.foreignKeys
      .map((f) => ({
        columns: f.columns,
        refTable: f.refTable,
        refColumns: f.refColumns,
        onDelete: f.onDelete,
      }))
      .sort((a, b) => a.columns.join().localeCompare(b.columns.join())),
    uniques: t.uniques
      .map((u) => ({ name: u.name, columns: u.columns.map((c) => c.replace(/[`"]/g, '')) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: t.indexes
      .filter((i) => !i.unique)
      .map((i) => i.name)
      .sort(),
    // SQLite also states as CHECKs what Postgres types enforce (varchar lengths, enum types).
    checks: t.checks
      .map((c) => c.name)
      .filter((n) => !n.endsWith('_length_check') && n !== 'sample_items_mood_check')
      .sort(),
  };
}

describe('one definition, two dialects', () => {
  let pg: TestDatabase;
  let lite: TestDatabase;
  let pgShape: SchemaShape;
  let liteShape: SchemaShape;

  beforeAll(async () => {
    pg = await createTestDatabase('postgres', [sample]);
    lite = await createTestDatabase('sqlite', [sample]);
    pgShape = await introspect(pg.db);
    liteShape = await introspect(lite.db);
  });
  afterAll(async () => {
    await pg?.dispose();
    await lite?.dispose();
  });

  it('creates the same tables', () => {
    expect(Object.keys(liteShape.tables).sort()).toEqual(Object.keys(pgShape.tables).sort());
    expect(Object.keys(pgShape.tables).sort()).toEqual(['sample_items', 'sample_owners']);
  });

  for (const name of ['sample_owners', 'sample_items']) {
    it(`gives ${name} the same columns, nullability, defaults, keys, uniques, indexes and checks`, () => {
      const p = pgShape.tables[name]!;
      const s = liteShape.tables[name]!;
      expect(portable(s)).toEqual(portable(p));
      for (const c of p.columns) {
        expect({ column: c.name, type: c.type }).toEqual({
          column: c.name,
          type: STORAGE[c.name]?.pg,
        });
      }
      for (const c of s.columns) {
        expect({ column: c.name, type: c.type }).toEqual({
          column: c.name,
          type: STORAGE[c.name]?.sqlite,
        });
      }
    });
  }

  it('declares the Postgres-only parts with their SQLite form', () => {
    const p = pgShape.tables.sample_items!;
    const s = liteShape.tables.sample_items!;
    expect(p.indexes.find((i) => i.name === 'sample_items_settings_gin')?.definition).toMatch(
      /USING gin/,
    );
    expect(s.indexes.find((i) => i.name === 'sample_items_settings_gin')).toBeDefined();
    expect(p.rlsEnabled).toBe(true);
    expect(p.policies.map((x) => x.name)).toEqual(['sample_items_user_isolation']);
    expect(p.policies[0]!.using).toMatch(/app\.user_id/);
    expect(s.checks.map((c) => c.name)).toContain('sample_items_mood_check');
    expect(s.checks.map((c) => c.name)).toContain('sample_items_title_length_check');
  });
});
