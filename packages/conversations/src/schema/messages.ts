import {
  type ColumnRef,
  check,
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  json,
  ownedByUser,
  table,
  text,
  textEnum,
  updatedAt,
  uuid,
} from '@exora/core';
import { type Column, sql } from 'drizzle-orm';
import { chatSessions } from './chat-sessions.ts';
import { conversations } from './conversations.ts';

export const MESSAGE_SENDER_TYPES = ['user', 'assistant', 'system', 'agent'] as const;
export const MESSAGE_TYPES = ['text', 'image', 'file', 'system'] as const;
export const MESSAGE_STATUSES = ['sent', 'delivered', 'read', 'failed'] as const;
/** The sender types a chat message may have: its role in the chat. */
export const CHAT_MESSAGE_ROLES = ['user', 'assistant', 'system'] as const;

/** A column of this table as a reference target (either dialect's column serves both sides). */
const self = (column: Column): ColumnRef => ({
  table: 'messages',
  key: column.name,
  pg: column as unknown as ColumnRef['pg'],
  sqlite: column as unknown as ColumnRef['sqlite'],
});

/**
 * One message, of a conversation or of a chat session (exactly one of the two, a CHECK says so).
 * A conversation's messages are threaded: a reply names its parent (deleting a message deletes
 * its replies). A chat's messages are a flat sequence whose sender type is the role (user,
 * assistant or system), with the model that answered and its token counts. The owner is the
 * conversation's or the chat's (composite keys keep them equal, so a message cannot point into
 * another user's chat), so that row-level security needs no join; deleting either deletes its
 * messages.
 */
export const messages = table(
  'messages',
  {
    id: id(),
    /** Set for a conversation's message, null for a chat's. */
    conversationId: uuid(),
    /** Set for a chat's message, null for a conversation's. */
    chatSessionId: uuid(),
    userId: uuid().notNull(),
    parentMessageId: uuid(),
    senderType: textEnum(MESSAGE_SENDER_TYPES).notNull(),
    senderId: text(),
    content: text().notNull(),
    messageType: textEnum(MESSAGE_TYPES).notNull().default('text'),
    status: textEnum(MESSAGE_STATUSES).notNull().default('sent'),
    /** The model that wrote an assistant's answer, and the tokens it read and wrote. */
    model: text(),
    promptTokens: integer(),
    completionTokens: integer(),
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
    foreignKey(
      'messages_chat_session_owner_fk',
      [t.chatSessionId, t.userId],
      () => [chatSessions.columns.id, chatSessions.columns.userId],
      { onDelete: 'cascade' },
    ),
    // A conversation's message (threaded), or a chat's (flat, a role as its sender type).
    check(
      'messages_parent_check',
      sql`(${t.conversationId} is not null and ${t.chatSessionId} is null) or (${t.conversationId} is null and ${t.chatSessionId} is not null and ${t.parentMessageId} is null and ${t.senderType} in ('user', 'assistant', 'system'))`,
    ),
    check(
      'messages_tokens_check',
      sql`(${t.promptTokens} is null or ${t.promptTokens} >= 0) and (${t.completionTokens} is null or ${t.completionTokens} >= 0)`,
    ),
    // The table references itself: the extras run once per dialect with that dialect's
    // columns, which are the target here. The repository keeps a reply in its parent's
    // conversation.
    foreignKey('messages_parent_fk', [t.parentMessageId], () => [self(t.id)], {
      onDelete: 'cascade',
    }),
    // A conversation's messages in order (keyset on created_at and id).
    index('messages_conversation_created_idx').on(t.conversationId, t.createdAt, t.id),
    // A chat's messages, newest first (keyset on created_at and id).
    index('messages_chat_session_created_idx').on(t.chatSessionId, t.createdAt, t.id),
    index('messages_parent_idx').on(t.parentMessageId),
    index('messages_metadata_gin').on(t.metadata).gin(),
    ownedByUser(t.userId),
  ],
);

export type Message = typeof messages.pg.$inferSelect;
export type NewMessage = typeof messages.pg.$inferInsert;
