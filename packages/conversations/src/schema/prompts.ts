import {
  createdAt,
  id,
  index,
  ownedByUser,
  table,
  text,
  textArray,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/**
 * A saved prompt template of a user: `content` with `{{variable}}` slots, and the variables it
 * takes (read from the content when it is saved). Names are unique per user: saving a name
 * again replaces that template.
 */
export const prompts = table(
  'prompts',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    description: text(),
    content: text().notNull(),
    variables: textArray().notNull().default([]),
    category: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('prompts_user_name_unique').on(t.userId, t.name),
    index('prompts_user_category_idx').on(t.userId, t.category),
    ownedByUser(t.userId),
  ],
);

export type Prompt = typeof prompts.pg.$inferSelect;
export type NewPrompt = typeof prompts.pg.$inferInsert;
