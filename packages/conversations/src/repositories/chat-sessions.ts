import {
  type DomainContext,
  found,
  keyset,
  NotFoundError,
  optionalText,
  ownedRow,
  type Page,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
} from '@exora/core';
import { type ChatSession, chatSessions } from '../schema/chat-sessions.ts';

const createSession = statement.one(
  'chatSessions.create',
  chatSessions,
  ['title', 'model', 'metadata'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({ userId: owner, title: $.title, model: $.model, metadata: $.metadata })
      .returning(),
);

const findSession = ownedRow.find('chatSessions.find', chatSessions);

const listPage = keyset.newestFirst('chatSessions.list', chatSessions, { stale: true });

const renameSession = ownedRow.set('chatSessions.rename', chatSessions, 'title');

/** Its messages go with it (their foreign key cascades). */
const deleteSession = ownedRow.delete('chatSessions.delete', chatSessions);

export type ChatSessionPage = Page<ChatSession>;

const title = (value: unknown) => requireText(value, 'title', { max: 500 });

/** A user's chats: create, list with a cursor, rename, delete. */
export function createChatSessionsRepository(ctx: DomainContext) {
  return {
    /** A new chat (titled "New chat" unless given one). A service names the user. */
    async create(
      input: { title?: string; model?: string | null; metadata?: Record<string, unknown> } = {},
      userId?: string,
    ): Promise<ChatSession> {
      const given = requirePlainObject(input, 'input');
      const metadata = given.metadata ?? {};
      return run(ctx, createSession, {
        owner: userId,
        title: given.title === undefined ? 'New chat' : title(given.title),
        model: optionalText(given.model, 'model', { max: 200 }) ?? null,
        metadata: requirePlainObject(metadata, 'metadata'),
      });
    },

    async get(sessionId: string): Promise<ChatSession> {
      const id = requireUuid(sessionId, 'sessionId');
      return found('chat session', run(ctx, findSession, { id }));
    },

    /** Newest first, `limit` (default 20, at most 100) per page, from `cursor` on. */
    async list(options: { limit?: number; cursor?: string | null } = {}): Promise<ChatSessionPage> {
      return keyset.list(ctx, listPage, options);
    },

    async rename(sessionId: string, newTitle: string): Promise<ChatSession> {
      const id = requireUuid(sessionId, 'sessionId');
      return found('chat session', run(ctx, renameSession, { id, title: title(newTitle) }));
    },

    /** Deletes the chat and its messages. */
    async delete(sessionId: string): Promise<void> {
      const id = requireUuid(sessionId, 'sessionId');
      if ((await run(ctx, deleteSession, { id })) === 0) throw new NotFoundError('chat session');
    },
  };
}

export type ChatSessionsRepository = ReturnType<typeof createChatSessionsRepository>;
