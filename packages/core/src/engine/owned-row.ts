/**
 * The statements almost every owned table has, declared once per table: one of the actor's rows
 * by `id`, one column of it set, its deletion, and the actor's rows under one parent. Anything
 * more specific is written with `statement.*`.
 */
import { and, asc, type Column, desc, eq } from 'drizzle-orm';
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

  /**
   * The actor's rows of `table` whose `key` column is the parameter of the same name (the rows
   * of one parent: an agent's activities, a project's tool calls), in creation order (`oldest`
   * first, as a log reads) or `newest` first, at most `limit` (a parameter). A list: a read
   * replica may serve it.
   */
  listFor<T extends AnyTable, const K extends string & keyof T['pg']['$inferSelect']>(
    name: string,
    table: T,
    key: K,
    order: 'oldest' | 'newest',
  ): Statement<ParamsFor<K | 'limit'>, T['pg']['$inferSelect'][]> {
    const by = order === 'oldest' ? asc : desc;
    return statement.many(
      name,
      table,
      [key, 'limit'],
      ({ db, t, $, owned }) => {
        const columns = t as unknown as Record<string, Column>;
        return db
          .select()
          .from(t as AnyTable['pg'])
          .where(and(eq(columns[key]!, $[key]), owned()))
          .orderBy(by(columns.createdAt!), by(idOf(t)))
          .limit($.limit);
      },
      { stale: true },
    ) as never;
  },
};
