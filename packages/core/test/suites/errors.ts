import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import {
  CheckViolationError,
  ConstraintViolationError,
  ForeignKeyViolationError,
  NotNullViolationError,
  SchemaMismatchError,
  UniqueViolationError,
} from '../../src/index.ts';
import { sampleItems, sampleOwners } from '../../testing/sample-schema.ts';
import type { SuiteContext } from './context.ts';

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function errorSuite(ctx: SuiteContext) {
  describe(`error vocabulary (${ctx.dialect})`, () => {
    const email = () => `e-${Math.random().toString(36).slice(2)}@example.test`;

    it('maps a unique violation on an expression index, naming table and constraint, not the value', async () => {
      const db = ctx.db();
      const owners = db.table(sampleOwners);
      const address = email();
      await db.db.insert(owners).values({ email: address });
      const error = await caught(
        db.transaction((tx) => tx.db.insert(owners).values({ email: address.toUpperCase() })),
      );
      expect(error).toBeInstanceOf(UniqueViolationError);
      expect(error).toBeInstanceOf(ConstraintViolationError);
      const e = error as UniqueViolationError;
      expect(e.table).toBe('sample_owners');
      expect(e.constraint).toBe('sample_owners_email_lower_unique');
      expect(e.message).not.toContain(address.toUpperCase());
      expect(e.message).not.toContain(address);
    });

    it('maps a unique violation on a multi-column constraint', async () => {
      const db = ctx.db();
      const [owner] = await db.db
        .insert(db.table(sampleOwners))
        .values({ email: email() })
        .returning();
      const items = db.table(sampleItems);
      await db.db.insert(items).values({ ownerId: owner!.id, title: 'same' });
      const e = (await caught(
        db.transaction((tx) => tx.db.insert(items).values({ ownerId: owner!.id, title: 'same' })),
      )) as UniqueViolationError;
      expect(e).toBeInstanceOf(UniqueViolationError);
      expect(e.table).toBe('sample_items');
      expect(e.constraint).toBe('sample_items_owner_title_unique');
    });

    it('maps a foreign key violation', async () => {
      const db = ctx.db();
      const items = db.table(sampleItems);
      const e = (await caught(
        db.transaction((tx) =>
          tx.db
            .insert(items)
            .values({ ownerId: '00000000-0000-4000-8000-000000000000', title: 'x' }),
        ),
      )) as ForeignKeyViolationError;
      expect(e).toBeInstanceOf(ForeignKeyViolationError);
      expect(e.table).toBe('sample_items');
      if (ctx.dialect === 'postgres') {
        expect(e.constraint).toBe('sample_items_owner_id_sample_owners_id_fk');
      }
    });

    it('maps a check violation and names the constraint', async () => {
      const db = ctx.db();
      const [owner] = await db.db
        .insert(db.table(sampleOwners))
        .values({ email: email() })
        .returning();
      const items = db.table(sampleItems);
      const e = (await caught(
        db.transaction((tx) =>
          tx.db.insert(items).values({ ownerId: owner!.id, title: 't', score: 101 }),
        ),
      )) as CheckViolationError;
      expect(e).toBeInstanceOf(CheckViolationError);
      expect(e.table).toBe('sample_items');
      expect(e.constraint).toBe('sample_items_score_range');

      const e2 = (await caught(
        db.execute(
          sql`insert into sample_items (owner_id, title, status) values (${owner!.id}, 'u', 'deleted')`,
        ),
      )) as CheckViolationError;
      expect(e2).toBeInstanceOf(CheckViolationError);
      expect(e2.constraint).toBe('sample_items_status_check');
      expect(e2.table).toBe('sample_items');
      expect(e2.column).toBe('status');
    });

    it('maps a not-null violation and names the column', async () => {
      const db = ctx.db();
      const e = (await caught(
        db.execute(sql`insert into sample_owners (email) values (null)`),
      )) as NotNullViolationError;
      expect(e).toBeInstanceOf(NotNullViolationError);
      expect(e.table).toBe('sample_owners');
      expect(e.column).toBe('email');
    });

    it('turns other database errors into typed errors with a code and no driver message', async () => {
      const db = ctx.db();
      const e = await caught(db.execute(sql`select * from no_such_table`));
      expect(e).toBeInstanceOf(SchemaMismatchError);
      expect(e).toMatchObject({ code: 'SCHEMA_MISMATCH', retryable: false });
      expect((e as Error).cause).toBeUndefined();
    });
  });
}
