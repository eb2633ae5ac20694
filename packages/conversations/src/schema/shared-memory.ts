import {
  check,
  createdAt,
  id,
  index,
  integer,
  json,
  serviceOnly,
  table,
  text,
  textEnum,
  timestamp,
  unique,
  updatedAt,
} from '@exora/core';
import { sql } from 'drizzle-orm';

export const MEMORY_SCOPES = ['workflow', 'session', 'global', 'agent'] as const;

/**
 * What the agents of a conversation remember, one value per (conversation, key, scope). Read and
 * written by the agent runtime only (a service context), which counts every read.
 */
export const sharedMemory = table(
  'shared_memory',
  {
    id: id(),
    /** The conversation's key as the agent runtime names it. */
    conversationId: text().notNull(),
    memoryKey: text().notNull(),
    memoryValue: json<unknown>().notNull(),
    scope: textEnum(MEMORY_SCOPES).notNull().default('session'),
    accessCount: integer().notNull().default(0),
    lastAccessedAt: timestamp(),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('shared_memory_conversation_key_scope_unique').on(
      t.conversationId,
      t.memoryKey,
      t.scope,
    ),
    index('shared_memory_scope_idx').on(t.conversationId, t.scope),
    index('shared_memory_value_gin').on(t.memoryValue).gin(),
    check('shared_memory_access_count_check', sql`${t.accessCount} >= 0`),
    serviceOnly(),
  ],
);

export type SharedMemory = typeof sharedMemory.pg.$inferSelect;
