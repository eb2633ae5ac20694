import { describe, expect, expectTypeOf, it } from 'vitest';
import type { sampleItems } from '../testing/sample-schema.ts';

type PgRow = typeof sampleItems.pg.$inferSelect;
type SqliteRow = typeof sampleItems.sqlite.$inferSelect;
type PgInsert = typeof sampleItems.pg.$inferInsert;
type SqliteInsert = typeof sampleItems.sqlite.$inferInsert;

describe('table kit types', () => {
  it('gives both dialects the same select and insert types, and none is any', () => {
    expectTypeOf<PgRow>().toEqualTypeOf<SqliteRow>();
    expectTypeOf<PgInsert>().toEqualTypeOf<SqliteInsert>();
    expectTypeOf<PgRow>().not.toBeAny();
    expectTypeOf<PgRow['id']>().toEqualTypeOf<string>();
    expectTypeOf<PgRow['done']>().toEqualTypeOf<boolean>();
    expectTypeOf<PgRow['dueAt']>().toEqualTypeOf<Date | null>();
    expectTypeOf<PgRow['createdAt']>().toEqualTypeOf<Date>();
    expectTypeOf<PgRow['tags']>().toEqualTypeOf<string[]>();
    expectTypeOf<PgRow['status']>().toEqualTypeOf<'draft' | 'active' | 'archived'>();
    expectTypeOf<PgRow['mood']>().toEqualTypeOf<'calm' | 'busy' | 'away' | null>();
    expectTypeOf<PgRow['settings']>().toEqualTypeOf<{
      theme: 'light' | 'dark';
      flags?: string[];
    }>();
    expectTypeOf<PgRow['bytes']>().toEqualTypeOf<number | null>();
    expectTypeOf<PgInsert['ownerId']>().toEqualTypeOf<string>();
    expectTypeOf<PgInsert['position']>().toEqualTypeOf<number | undefined>();
  });

  it('rejects wrong field types, enum values and missing required fields', () => {
    const ok: PgInsert = { ownerId: 'x', title: 't' };
    // @ts-expect-error done is a boolean
    const wrongType: PgInsert = { ownerId: 'x', title: 't', done: 'yes' };
    // @ts-expect-error status outside its list
    const wrongEnum: SqliteInsert = { ownerId: 'x', title: 't', status: 'deleted' };
    // @ts-expect-error title is required
    const missing: PgInsert = { ownerId: 'x' };
    // @ts-expect-error JSON shape is typed
    const wrongJson: SqliteInsert = { ownerId: 'x', title: 't', settings: { theme: 'blue' } };
    expect([ok, wrongType, wrongEnum, missing, wrongJson]).toHaveLength(5);
  });
});
