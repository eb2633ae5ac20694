import { randomBytes } from 'node:crypto';
import {
  type DomainContext,
  ForeignKeyViolationError,
  KEYSET_PARAMS,
  keyset,
  NotFoundError,
  optionalText,
  type Page,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, desc, eq } from 'drizzle-orm';
import { CHAT_MESSAGE_ROLES, messages } from '../schema/messages.ts';

export type ChatMessageRole = (typeof CHAT_MESSAGE_ROLES)[number];

/** A message of a chat session, as the chat sees it: its sender type is its role. */
export interface ChatMessage {
  id: string;
  chatSessionId: string;
  userId: string;
  role: ChatMessageRole;
  content: string;
  /** The model that wrote an assistant's answer. */
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface AppendChatMessageInput {
  chatSessionId: string;
  role: ChatMessageRole;
  content: string;
  model?: string | null;
  /** Tokens the model read for this answer, and wrote. */
  promptTokens?: number | null;
  completionTokens?: number | null;
  metadata?: Record<string, unknown>;
}

export type ChatMessagePage = Page<ChatMessage>;

/** What a chat reads of a message row: the role is the sender type. */
const chatColumns = (t: typeof messages.pg) => ({
  id: t.id,
  chatSessionId: t.chatSessionId,
  userId: t.userId,
  role: t.senderType,
  content: t.content,
  model: t.model,
  promptTokens: t.promptTokens,
  completionTokens: t.completionTokens,
  metadata: t.metadata,
  createdAt: t.createdAt,
});

/**
 * The session must be the owner's: `(chat_session_id, user_id)` references the chat's
 * `(id, user_id)`, so another user's (or a missing) session fails the foreign key.
 */
const appendMessage = statement.one(
  'chatMessages.append',
  messages,
  [
    'id',
    'chatSessionId',
    'role',
    'content',
    'model',
    'promptTokens',
    'completionTokens',
    'metadata',
  ],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        id: $.id,
        chatSessionId: $.chatSessionId,
        userId: owner,
        senderType: $.role,
        content: $.content,
        model: $.model,
        promptTokens: $.promptTokens,
        completionTokens: $.completionTokens,
        metadata: $.metadata,
      })
      .returning(chatColumns(t)),
);

/**
 * One page of a session's messages, newest first (index on chat_session_id, created_at, id).
 * A read replica may serve it (the actor's own writes are always seen).
 */
const listPage = statement.many(
  'chatMessages.list',
  messages,
  ['chatSessionId', ...KEYSET_PARAMS],
  ({ db, t, $, owned }) =>
    db
      .select(chatColumns(t))
      .from(t)
      .where(
        and(eq(t.chatSessionId, $.chatSessionId), owned(), keyset.before(t.createdAt, t.id, $)),
      )
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

/**
 * Message ids ordered by creation (UUID version 7: milliseconds, then a counter within the
 * millisecond, then random bits). Messages appended in the same millisecond, or in one
 * transaction on Postgres (where `now()` is the transaction's start), share `created_at`; the
 * id then keeps them in the order this process appended them.
 */
let lastMs = 0;
let counter = 0;
function orderedId(): string {
  let ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    counter = 0;
  } else if (counter < 0xfff) {
    ms = lastMs;
    counter++;
  } else {
    ms = ++lastMs;
    counter = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function optionalTokens(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ValidationError(field, 'must be a non-negative integer');
  }
  return value;
}

/** The messages of a user's chats: append to one of their sessions, read a session's pages. */
export function createChatMessagesRepository(ctx: DomainContext) {
  return {
    /**
     * Appends a message to one of the user's chat sessions (a service names the user). Another
     * user's session, or one that does not exist, is NotFoundError. The content is stored as
     * given (not trimmed).
     */
    async append(input: AppendChatMessageInput, userId?: string): Promise<ChatMessage> {
      const given = requirePlainObject(input, 'input') as unknown as AppendChatMessageInput;
      requireText(given.content, 'content', { max: 200_000 });
      const metadata = given.metadata ?? {};
      try {
        return (await run(ctx, appendMessage, {
          owner: userId,
          id: orderedId(),
          chatSessionId: requireUuid(given.chatSessionId, 'chatSessionId'),
          role: requireOneOf(given.role, 'role', CHAT_MESSAGE_ROLES),
          content: given.content,
          model: optionalText(given.model, 'model', { max: 200 }) ?? null,
          promptTokens: optionalTokens(given.promptTokens, 'promptTokens'),
          completionTokens: optionalTokens(given.completionTokens, 'completionTokens'),
          metadata: requirePlainObject(metadata, 'metadata'),
        })) as ChatMessage;
      } catch (error) {
        if (error instanceof ForeignKeyViolationError) throw new NotFoundError('chat session');
        throw error;
      }
    },

    /**
     * A session's messages, newest first (the page a chat view opens on; older ones with the
     * cursor): `limit` (default 50, at most 200) per page. Another user's session has none.
     */
    async list(
      chatSessionId: string,
      options: { limit?: number; cursor?: string | null } = {},
    ): Promise<ChatMessagePage> {
      const id = requireUuid(chatSessionId, 'chatSessionId');
      const limit = options.limit ?? 50;
      const page = keyset.params(options.cursor, limit, 200);
      const rows = await run(ctx, listPage, {
        chatSessionId: id,
        first: page.first,
        beforeAt: page.beforeAt,
        beforeId: page.beforeId,
        limit: page.limit,
      });
      return keyset.page(rows as ChatMessage[], limit);
    },
  };
}

export type ChatMessagesRepository = ReturnType<typeof createChatMessagesRepository>;
