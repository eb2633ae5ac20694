/**
 * The statements almost every owned table has, declared once per table: one of the actor's rows
 * by `id`, one column of it set, and its deletion. Anything more specific is written with
 * `statement.*`.
 */
import { and, type Column, eq } from 'drizzle-orm';
import type { AnyTable } from '../kit/table.ts';
import { type ParamsFor, type Statement, statement } from './statement.ts';

const idOf = (t: unknown) => (t as { id: Column }).id;

export const ownedRow = {
  /** The actor's row of `table` with this `id`, or null (another owner's row is not found). */
  find<T extends AnyTable>(
    name: string,
    table: T,
  ): Statement<ParamsFor<'id'>, T['pg']['$inferSelect'] | null> {
    return statement.maybe(name, table, ['id'], ({ db, t, $, owned }) =>
      db
        .select()
        .from(t as AnyTable['pg'])
        .where(and(eq(idOf(t), $.id), owned())),
    ) as never;
  },

  /**
   * Sets one column (`key`, a parameter of the same name) of the actor's row with this `id` and
   * returns the row, or null when the actor has no such row.
   */
  set<T extends AnyTable, const K extends string & keyof T['pg']['$inferSelect']>(
    name: string,
    table: T,
    key: K,
  ): Statement<ParamsFor<'id' | K>, T['pg']['$inferSelect'] | null> {
    return statement.maybe(name, table, ['id', key], ({ db, t, $, owned }) => {
      const column = (t as unknown as Record<string, Column>)[key]!;
      return db
        .update(t as AnyTable['pg'])
        .set({ [key]: $.bind(column, key) })
        .where(and(eq(idOf(t), $.id), owned()))
        .returning();
    }) as never;
  },

  /** Deletes the actor's row of `table` with this `id`; the count says whether there was one. */
  delete<T extends AnyTable>(name: string, table: T): Statement<ParamsFor<'id'>, number> {
    return statement.count(name, table, ['id'], ({ db, t, $, owned }) =>
      db.delete(t as AnyTable['pg']).where(and(eq(idOf(t), $.id), owned())),
    );
  },
};
