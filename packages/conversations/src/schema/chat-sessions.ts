import {
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

/**
 * A user's chat: a titled history of messages (deleting it deletes them). `(id, user_id)` is
 * unique so that messages can reference the chat together with its owner.
 */
export const chatSessions = table(
  'chat_sessions',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    title: text().notNull().default('New chat'),
    model: text(),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('chat_sessions_id_user_unique').on(t.id, t.userId),
    // The list, newest first (keyset on created_at and id).
    index('chat_sessions_user_created_idx').on(t.userId, t.createdAt, t.id),
    ownedByUser(t.userId),
  ],
);

export type ChatSession = typeof chatSessions.pg.$inferSelect;
export type NewChatSession = typeof chatSessions.pg.$inferInsert;
