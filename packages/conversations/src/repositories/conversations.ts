import {
  CheckViolationError,
  type DomainContext,
  ForeignKeyViolationError,
  found,
  KEYSET_PARAMS,
  keyset,
  NotFoundError,
  NotNullViolationError,
  optionalText,
  ownedRow,
  type Page,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import {
  CONVERSATION_CHANNELS,
  CONVERSATION_ROLES,
  type Conversation,
  conversations,
} from '../schema/conversations.ts';
import { MESSAGE_SENDER_TYPES, MESSAGE_TYPES, type Message, messages } from '../schema/messages.ts';

/** A conversation in one of these statuses takes new messages; the others are closed. */
const OPEN_STATUSES = ['active', 'inactive', 'pending'] as const;
export const CLOSED_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export type ConversationOutcome = (typeof CLOSED_STATUSES)[number];

/** The most messages a thread read returns (a longer thread is refused, not cut). */
export const MAX_THREAD_MESSAGES = 10_000;

const startConversation = statement.one(
  'conversations.start',
  conversations,
  ['sessionId', 'role', 'content', 'channel', 'metadata'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        sessionId: $.sessionId,
        role: $.role,
        content: $.content,
        channel: $.channel,
        metadata: $.metadata,
      })
      .returning(),
);

const findConversation = ownedRow.find('conversations.find', conversations);

const listConversations = keyset.newestFirst('conversations.list', conversations, {
  stale: true,
});

const closeConversation = statement.maybe(
  'conversations.close',
  conversations,
  ['id', 'status'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: $.bind(t.status, 'status') })
      .where(and(eq(t.id, $.id), owned(), inArray(t.status, [...OPEN_STATUSES])))
      .returning(),
);

/**
 * One statement: the conversation (the actor's, open, and holding the parent when one is given)
 * is looked up inside it. When it is not there, `conversation_id` is null and the insert is
 * refused by the database, so nothing is written; the caller then says why.
 */
const appendMessage = statement.one(
  'conversations.append',
  messages,
  [
    'conversationId',
    'parentMessageId',
    'senderType',
    'senderId',
    'content',
    'messageType',
    'metadata',
  ],
  ({ db, t, $, owner, table, fn }) => {
    const c = table(conversations);
    const parent = fn.as($.parentMessageId, t.parentMessageId);
    const open = sql.join(
      OPEN_STATUSES.map((s) => sql`${s}`),
      sql`, `,
    );
    return db
      .insert(t)
      .values({
        conversationId: sql`(select ${c.id} from ${c} where ${c.id} = ${$.conversationId} and ${c.userId} = ${owner} and ${c.status} in (${open}) and (${parent} is null or exists (select 1 from ${t} p where p.id = ${$.parentMessageId} and p.conversation_id = ${c.id})))`,
        userId: owner,
        parentMessageId: $.parentMessageId,
        senderType: $.senderType,
        senderId: $.senderId,
        content: $.content,
        messageType: $.messageType,
        metadata: $.metadata,
      })
      .returning();
  },
);

const findMessage = ownedRow.find('conversations.findMessage', messages);

/**
 * The whole thread a message belongs to, in one query: up from the message to its root, then
 * down from the root to every reply, at any depth. `union` (not `union all`) keeps the walk
 * finite even if rows written outside the repositories formed a cycle.
 */
const threadOf = statement.many(
  'conversations.thread',
  messages,
  ['id', 'limit'],
  ({ db, t, $, owned }) => {
    const walk = sql`with recursive up(id, parent_id) as (
      select ${t.id}, ${t.parentMessageId} from ${t} where ${t.id} = ${$.id} and ${owned()}
      union
      select m.id, m.parent_message_id from ${t} m join up on m.id = up.parent_id
    ), down(id) as (
      select id from up where parent_id is null
      union
      select m.id from ${t} m join down on m.parent_message_id = down.id
    )
    select id from down`;
    return db
      .select()
      .from(t)
      .where(and(sql`${t.id} in (${walk})`, owned()))
      .orderBy(asc(t.createdAt), asc(t.id))
      .limit($.limit);
  },
);

/** A page of a conversation's messages, newest first (index on conversation, time, id). */
const messagePage = statement.many(
  'conversations.messages',
  messages,
  ['conversationId', ...KEYSET_PARAMS],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(
        and(eq(t.conversationId, $.conversationId), owned(), keyset.before(t.createdAt, t.id, $)),
      )
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

/** A delivery status change, allowed only forward (sent, delivered, read). */
function advance(name: string, to: 'delivered' | 'read', from: readonly Message['status'][]) {
  return statement.maybe(name, messages, ['id'], ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: to })
      .where(and(eq(t.id, $.id), owned(), inArray(t.status, [...from])))
      .returning(),
  );
}

const markDelivered = advance('conversations.markDelivered', 'delivered', ['sent']);
const markRead = advance('conversations.markRead', 'read', ['sent', 'delivered']);

const markAllRead = statement.count(
  'conversations.markAllRead',
  messages,
  ['conversationId'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: 'read' })
      .where(
        and(
          eq(t.conversationId, $.conversationId),
          owned(),
          inArray(t.status, ['sent', 'delivered']),
        ),
      ),
);

export interface StartConversationInput {
  channel?: (typeof CONVERSATION_CHANNELS)[number];
  /** The client's session the conversation started in. */
  sessionId?: string | null;
  /** Who opened it, and its opening text. */
  role?: (typeof CONVERSATION_ROLES)[number] | null;
  content?: string | null;
  metadata?: Record<string, unknown>;
}

export interface AppendMessageInput {
  senderType: (typeof MESSAGE_SENDER_TYPES)[number];
  content: string;
  /** The message this one replies to (of the same conversation); left out: a new thread. */
  parentMessageId?: string | null;
  senderId?: string | null;
  messageType?: (typeof MESSAGE_TYPES)[number];
  metadata?: Record<string, unknown>;
}

/** A message of a thread with its replies (oldest first), `depth` 0 at the root. */
export interface MessageTreeNode {
  message: Message;
  depth: number;
  replies: MessageTreeNode[];
}

export type ConversationPage = Page<Conversation>;
export type MessagePage = Page<Message>;

const objectOr = (value: unknown, field: string) =>
  value === undefined ? {} : requirePlainObject(value, field);

/** The thread's messages (oldest first, each after its parent) as a tree from its root. */
function treeOf(rows: readonly Message[]): MessageTreeNode {
  const nodes = new Map<string, MessageTreeNode>();
  for (const message of rows) nodes.set(message.id, { message, depth: 0, replies: [] });
  let root: MessageTreeNode | undefined;
  for (const node of nodes.values()) {
    const parentId = node.message.parentMessageId;
    const parent = parentId ? nodes.get(parentId) : undefined;
    if (parent) parent.replies.push(node);
    else root ??= node;
  }
  if (!root) throw new NotFoundError('message');
  // Depths from the root down, without recursion (a thread may be thousands deep).
  const stack = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    for (const reply of node.replies) {
      reply.depth = node.depth + 1;
      stack.push(reply);
    }
  }
  return root;
}

/**
 * A user's conversations and their threaded messages: start, append (a new thread or a reply),
 * read a whole thread as a tree, page through a conversation, mark delivered / read, close.
 * Every method but `list` takes a `userId` (last): a service (the agent runtime, a delivery worker) names the
 * user it acts for; a user context leaves it out.
 */
export function createConversationsRepository(ctx: DomainContext) {
  /** Why an append wrote nothing: no such conversation, a closed one, or no such parent. */
  const whyNotAppended = async (
    error: unknown,
    conversationId: string,
    parentMessageId: string | null,
    owner: string | undefined,
  ): Promise<never> => {
    if (error instanceof ForeignKeyViolationError && parentMessageId) {
      throw new NotFoundError('parent message');
    }
    if (!(error instanceof NotNullViolationError || error instanceof CheckViolationError)) {
      throw error;
    }
    const conversation = await found(
      'conversation',
      run(ctx, findConversation, { id: conversationId, owner }),
    );
    if ((CLOSED_STATUSES as readonly string[]).includes(conversation.status)) {
      throw new ValidationError('conversationId', `the conversation is ${conversation.status}`);
    }
    if (parentMessageId) throw new NotFoundError('parent message');
    throw error;
  };

  const change = async (
    stmt: typeof markDelivered,
    messageId: string,
    verb: string,
    owner: string | undefined,
  ): Promise<Message> => {
    const params = { id: requireUuid(messageId, 'messageId'), owner };
    const row = await run(ctx, stmt, params);
    if (row) return row;
    const current = await found('message', run(ctx, findMessage, params));
    if (current.status === 'failed') {
      throw new ValidationError('messageId', `a failed message cannot be marked ${verb}`);
    }
    return current; // already there or further along: a status never moves back
  };

  return {
    /** A new `active` conversation (channel `web` unless given). A service names the user. */
    async start(input: StartConversationInput = {}, userId?: string): Promise<Conversation> {
      const given = requirePlainObject(input, 'input');
      return run(ctx, startConversation, {
        owner: userId,
        sessionId: optionalText(given.sessionId, 'sessionId', { max: 500 }) ?? null,
        role:
          given.role === undefined || given.role === null
            ? null
            : requireOneOf(given.role, 'role', CONVERSATION_ROLES),
        content: optionalText(given.content, 'content', { max: 100_000 }) ?? null,
        channel:
          given.channel === undefined
            ? 'web'
            : requireOneOf(given.channel, 'channel', CONVERSATION_CHANNELS),
        metadata: objectOr(given.metadata, 'metadata'),
      });
    },

    /** One of the actor's conversations, or NotFoundError. */
    async get(conversationId: string, userId?: string): Promise<Conversation> {
      const id = requireUuid(conversationId, 'conversationId');
      return found('conversation', run(ctx, findConversation, { id, owner: userId }));
    },

    /** The actor's conversations, newest first, `limit` (default 20, at most 100) per page. */
    async list(
      options: { limit?: number; cursor?: string | null } = {},
    ): Promise<ConversationPage> {
      return keyset.list(ctx, listConversations, options);
    },

    /**
     * Adds a message to an open conversation: a new thread, or a reply to `parentMessageId`
     * (a message of the same conversation). NotFoundError for a conversation or parent that is
     * not the actor's; ValidationError when the conversation is closed. A service (the agent
     * runtime answering) names the conversation's user.
     */
    async append(
      conversationId: string,
      input: AppendMessageInput,
      userId?: string,
    ): Promise<Message> {
      const id = requireUuid(conversationId, 'conversationId');
      const given = requirePlainObject(input, 'input');
      const parentMessageId =
        given.parentMessageId === undefined || given.parentMessageId === null
          ? null
          : requireUuid(given.parentMessageId, 'parentMessageId');
      const params = {
        owner: userId,
        conversationId: id,
        parentMessageId,
        senderType: requireOneOf(given.senderType, 'senderType', MESSAGE_SENDER_TYPES),
        senderId: optionalText(given.senderId, 'senderId', { max: 500 }) ?? null,
        content: requireText(given.content, 'content', { max: 100_000 }),
        messageType:
          given.messageType === undefined
            ? 'text'
            : requireOneOf(given.messageType, 'messageType', MESSAGE_TYPES),
        metadata: objectOr(given.metadata, 'metadata'),
      };
      try {
        return await run(ctx, appendMessage, params);
      } catch (error) {
        return whyNotAppended(error, id, parentMessageId, userId);
      }
    },

    /**
     * The whole thread `messageId` belongs to, read in one query: its root and every reply at
     * any depth, siblings oldest first. NotFoundError when the message is not the actor's.
     */
    async thread(messageId: string, userId?: string): Promise<MessageTreeNode> {
      const id = requireUuid(messageId, 'messageId');
      const rows = await run(ctx, threadOf, {
        owner: userId,
        id,
        limit: MAX_THREAD_MESSAGES + 1,
      });
      if (rows.length === 0) throw new NotFoundError('message');
      if (rows.length > MAX_THREAD_MESSAGES) {
        throw new ValidationError(
          'messageId',
          `the thread has more than ${MAX_THREAD_MESSAGES} messages`,
        );
      }
      return treeOf(rows);
    },

    /**
     * A conversation's messages, newest first, `limit` (default 50, at most 200) per page, from
     * `cursor` on. Another user's conversation reads as empty.
     */
    async messages(
      conversationId: string,
      options: { limit?: number; cursor?: string | null; userId?: string } = {},
    ): Promise<MessagePage> {
      const id = requireUuid(conversationId, 'conversationId');
      const limit = options.limit ?? 50;
      const params = {
        owner: options.userId,
        conversationId: id,
        ...keyset.params(options.cursor, limit, 200),
      };
      return keyset.page(await run(ctx, messagePage, params), limit);
    },

    /** `sent` becomes `delivered`; a message already delivered or read is returned as it is. */
    markDelivered(messageId: string, userId?: string): Promise<Message> {
      return change(markDelivered, messageId, 'delivered', userId);
    },

    /** `sent` or `delivered` becomes `read`; a message already read is returned as it is. */
    markRead(messageId: string, userId?: string): Promise<Message> {
      return change(markRead, messageId, 'read', userId);
    },

    /** Every `sent` or `delivered` message of the conversation becomes `read`; how many did. */
    async markAllRead(conversationId: string, userId?: string): Promise<number> {
      const id = requireUuid(conversationId, 'conversationId');
      return run(ctx, markAllRead, { conversationId: id, owner: userId });
    },

    /**
     * Ends an open conversation as `completed` (or `cancelled`, `failed`): it takes no more
     * messages. ValidationError when it is already closed.
     */
    async close(
      conversationId: string,
      outcome: ConversationOutcome = 'completed',
      userId?: string,
    ): Promise<Conversation> {
      const id = requireUuid(conversationId, 'conversationId');
      const status = requireOneOf(outcome, 'outcome', CLOSED_STATUSES);
      const row = await run(ctx, closeConversation, { id, status, owner: userId });
      if (row) return row;
      const current = await found(
        'conversation',
        run(ctx, findConversation, { id, owner: userId }),
      );
      throw new ValidationError('conversationId', `the conversation is already ${current.status}`);
    },
  };
}

export type ConversationsRepository = ReturnType<typeof createConversationsRepository>;
