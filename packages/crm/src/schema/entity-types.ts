import { createdAt, id, json, readableByAll, table, text, varchar } from '@exora/core';

/** Kinds of business entities (customer, product, ...): reference rows every role reads. */
export const entityTypes = table(
  'entity_types',
  {
    id: id(),
    slug: varchar(100).notNull().unique('entity_types_slug_unique'),
    name: text().notNull(),
    description: text(),
    fieldSchema: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  () => [readableByAll()],
);

export type EntityType = typeof entityTypes.pg.$inferSelect;
