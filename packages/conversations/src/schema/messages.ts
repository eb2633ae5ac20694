import {
  type ColumnRef,
  createdAt,
  foreignKey,
  id,
  index,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  updatedAt,
  uuid,
} from '@exora/core';
import type { Column } from 'drizzle-orm';
import { conversations } from './conversations.ts';

export const MESSAGE_SENDER_TYPES = ['user', 'assistant', 'system', 'agent'] as const;
export const MESSAGE_TYPES = ['text', 'image', 'file', 'system'] as const;
export const MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'failed'] as const;

/** A column of this table as a reference target (either dialect's column serves both sides). */
const self = (column: Column): ColumnRef => ({
  table: 'messages',
  key: column.name,
  pg: column as unknown as ColumnRef['pg'],
  sqlite: column as unknown as ColumnRef['sqlite'],
});

/**
 * One message of a conversation, threaded: a reply names its parent (deleting a message deletes
 * its replies). The owner is the conversation's (a composite key keeps them equal), so that
 * row-level security needs no join.
 */
export const messages = table(
  'messages',
  {
    id: id(),
    conversationId: uuid().notNull(),
    userId: uuid().notNull(),
    parentMessageId: uuid(),
    senderType: textEnum(MESSAGE_SENDER_TYPES).notNull(),
    senderId: text(),
    content: text().notNull(),
    messageType: textEnum(MESSAGE_TYPES).notNull().default('text'),
    status: textEnum(MESSAGE_STATUSES).notNull().default('sent'),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    foreignKey(
      'messages_conversation_owner_fk',
      [t.conversationId, t.userId],
      () => [conversations.columns.id, conversations.columns.userId],
      { onDelete: 'cascade' },
    ),
    // The table references itself: the extras run once per dialect with that dialect's
    // columns, which are the target here. The repository keeps a reply in its parent's
    // conversation.
    foreignKey('messages_parent_fk', [t.parentMessageId], () => [self(t.id)], {
      onDelete: 'cascade',
    }),
    // A conversation's messages in order (keyset on created_at and id).
    index('messages_conversation_created_idx').on(t.conversationId, t.createdAt, t.id),
    index('messages_parent_idx').on(t.parentMessageId),
    index('messages_metadata_gin').on(t.metadata).gin(),
    ownedByUser(t.userId),
  ],
);

export type Message = typeof messages.pg.$inferSelect;
export type NewMessage = typeof messages.pg.$inferInsert;
