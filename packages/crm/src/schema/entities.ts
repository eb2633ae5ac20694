import { createdAt, id, index, json, ownedByUser, table, text, updatedAt, uuid } from '@exora/core';
import { users } from '@exora/identity/schema';
import { entityTypes } from './entity-types.ts';

/** A user's business entity of some type; a type in use cannot be deleted. */
export const entities = table(
  'entities',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    entityTypeId: uuid()
      .notNull()
      .references(() => entityTypes.columns.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    data: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index('entities_user_type_idx').on(t.userId, t.entityTypeId), ownedByUser(t.userId)],
);

export type Entity = typeof entities.pg.$inferSelect;
