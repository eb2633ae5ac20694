import {
  createdAt,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  unique,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';

export const CONVERSATION_STATUSES = [
  'active',
  'inactive',
  'pending',
  'completed',
  'failed',
  'cancelled',
] as const;
export const CONVERSATION_CHANNELS = ['web', 'mobile', 'api'] as const;
export const CONVERSATION_ROLES = ['user', 'assistant', 'system'] as const;

/**
 * A user's conversation with the platform's assistants over one channel. Its messages live in
 * `messages`; `(id, user_id)` is unique so that they reference the conversation with its owner.
 */
export const conversations = table(
  'conversations',
  {
    id: id(),
    userId: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    /** The client's session the conversation started in. */
    sessionId: text(),
    /** Who opened it, and its opening text. */
    role: textEnum(CONVERSATION_ROLES),
    content: text(),
    status: textEnum(CONVERSATION_STATUSES).notNull().default('active'),
    channel: textEnum(CONVERSATION_CHANNELS).notNull().default('web'),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('conversations_id_user_unique').on(t.id, t.userId),
    index('conversations_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('conversations_metadata_gin').on(t.metadata).gin(),
    ownedByUser(t.userId),
  ],
);

export type Conversation = typeof conversations.pg.$inferSelect;
export type NewConversation = typeof conversations.pg.$inferInsert;
