import {
  type DomainContext,
  requireOneOf,
  requirePlainObject,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import { MEMORY_SCOPES, type SharedMemory, sharedMemory } from '../schema/shared-memory.ts';

export type MemoryScope = (typeof MEMORY_SCOPES)[number];

/** The most entries one `list` returns. */
export const MAX_MEMORY_LIST = 1000;

const SERVICE = { serviceOnly: true } as const;

/**
 * A read that counts itself: one UPDATE adds 1 to `access_count` and stamps `last_accessed_at`,
 * returning the value. The row lock it takes makes concurrent reads count one after the other,
 * so no access is lost.
 */
const getMemory = statement.maybe(
  'sharedMemory.get',
  sharedMemory,
  ['conversationId', 'memoryKey', 'scope', 'now'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({
        accessCount: sql`${t.accessCount} + 1`,
        lastAccessedAt: $.bind(t.lastAccessedAt, 'now'),
      })
      .where(
        and(
          eq(t.conversationId, $.conversationId),
          eq(t.memoryKey, $.memoryKey),
          eq(t.scope, $.scope),
        ),
      )
      .returning(),
  SERVICE,
);

/**
 * Writes a value: an insert, or on the unique (conversation, key, scope) the stored row's value
 * replaced, in one statement. Concurrent writers of the same new key meet at the unique index,
 * which turns the loser's insert into the update (no unique violation); the access count is
 * never written here, so no read is lost to a write.
 */
const putMemory = statement.one(
  'sharedMemory.put',
  sharedMemory,
  ['conversationId', 'memoryKey', 'scope', 'value', 'metadata', 'keepMetadata'],
  ({ db, t, $, excluded, keepIf }) =>
    db
      .insert(t)
      .values({
        conversationId: $.conversationId,
        memoryKey: $.memoryKey,
        scope: $.scope,
        memoryValue: $.value,
        metadata: $.metadata,
      })
      .onConflictDoUpdate({
        target: [t.conversationId, t.memoryKey, t.scope],
        set: {
          memoryValue: excluded(t.memoryValue),
          metadata: keepIf(t.metadata, $.keepMetadata),
        },
      })
      .returning(),
  SERVICE,
);

const listScope = statement.many(
  'sharedMemory.listScope',
  sharedMemory,
  ['conversationId', 'scope', 'limit'],
  ({ db, t, $ }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.conversationId, $.conversationId), eq(t.scope, $.scope)))
      .orderBy(asc(t.memoryKey))
      .limit($.limit),
  SERVICE,
);

const listAll = statement.many(
  'sharedMemory.list',
  sharedMemory,
  ['conversationId', 'limit'],
  ({ db, t, $ }) =>
    db
      .select()
      .from(t)
      .where(eq(t.conversationId, $.conversationId))
      .orderBy(asc(t.scope), asc(t.memoryKey))
      .limit($.limit),
  SERVICE,
);

const forgetMemory = statement.count(
  'sharedMemory.forget',
  sharedMemory,
  ['conversationId', 'memoryKey', 'scope'],
  ({ db, t, $ }) =>
    db
      .delete(t)
      .where(
        and(
          eq(t.conversationId, $.conversationId),
          eq(t.memoryKey, $.memoryKey),
          eq(t.scope, $.scope),
        ),
      ),
  SERVICE,
);

export interface PutMemoryOptions {
  /** Default `session`. */
  scope?: MemoryScope;
  /** Replaces the stored metadata; left out, a new entry gets `{}` and an existing one keeps its own. */
  metadata?: Record<string, unknown>;
}

/** A key as the agent runtime names it, taken exactly (not trimmed: `a` and ` a` differ). */
function keyText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  if (value.length === 0 || value.length > 500) {
    throw new ValidationError(field, 'must be 1 to 500 characters');
  }
  return value;
}
const conversationKey = (value: unknown) => keyText(value, 'conversationId');
const memoryKey = (value: unknown) => keyText(value, 'memoryKey');
const scopeOf = (value: unknown): MemoryScope =>
  value === undefined ? 'session' : requireOneOf(value, 'scope', MEMORY_SCOPES);

/**
 * What the agents of a conversation remember, one JSON value per (conversation, key, scope).
 * Service contexts only (the agent runtime): a user context is refused with PermissionError.
 */
export function createSharedMemoryRepository(ctx: DomainContext) {
  return {
    /**
     * The entry, its `accessCount` and `lastAccessedAt` already counting this read (one
     * statement), or null when nothing is stored under the key.
     */
    async get(
      conversationId: string,
      key: string,
      scope: MemoryScope = 'session',
    ): Promise<SharedMemory | null> {
      return run(ctx, getMemory, {
        conversationId: conversationKey(conversationId),
        memoryKey: memoryKey(key),
        scope: scopeOf(scope),
        now: new Date(),
      });
    },

    /**
     * Stores `value` (any JSON but null) under the key, replacing what was there; the entry's
     * access count and last access are kept. Safe under concurrent writers: the last write wins.
     */
    async put(
      conversationId: string,
      key: string,
      value: unknown,
      options: PutMemoryOptions = {},
    ): Promise<SharedMemory> {
      if (value === undefined || value === null) {
        throw new ValidationError('value', 'must be a JSON value (forget() removes a key)');
      }
      const given = requirePlainObject(options, 'options');
      const metadata = given.metadata;
      return run(ctx, putMemory, {
        conversationId: conversationKey(conversationId),
        memoryKey: memoryKey(key),
        scope: scopeOf(given.scope),
        value,
        metadata: metadata === undefined ? {} : requirePlainObject(metadata, 'metadata'),
        keepMetadata: metadata === undefined,
      });
    },

    /**
     * A conversation's entries in one scope (by key), or in every scope when none is given (by
     * scope, then key); at most `MAX_MEMORY_LIST`. Listing does not count as an access.
     */
    async list(conversationId: string, scope?: MemoryScope): Promise<SharedMemory[]> {
      const id = conversationKey(conversationId);
      if (scope === undefined)
        return run(ctx, listAll, { conversationId: id, limit: MAX_MEMORY_LIST });
      return run(ctx, listScope, {
        conversationId: id,
        scope: scopeOf(scope),
        limit: MAX_MEMORY_LIST,
      });
    },

    /** Removes the entry; whether there was one. */
    async forget(
      conversationId: string,
      key: string,
      scope: MemoryScope = 'session',
    ): Promise<boolean> {
      const removed = await run(ctx, forgetMemory, {
        conversationId: conversationKey(conversationId),
        memoryKey: memoryKey(key),
        scope: scopeOf(scope),
      });
      return removed > 0;
    },
  };
}

export type SharedMemoryRepository = ReturnType<typeof createSharedMemoryRepository>;
