import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createChatMessagesRepository } from './chat-messages.ts';
import { createChatSessionsRepository } from './chat-sessions.ts';
import { createConversationsRepository } from './conversations.ts';
import { createPromptsRepository } from './prompts.ts';
import { createSharedMemoryRepository } from './shared-memory.ts';

export * from './chat-messages.ts';
export * from './chat-sessions.ts';
export * from './conversations.ts';
export * from './prompts.ts';
export * from './shared-memory.ts';

/** The conversations repositories by name (combined with other domains' by `@exora/db`). */
export const conversationsRepositoryFactories = {
  chatMessages: createChatMessagesRepository,
  chatSessions: createChatSessionsRepository,
  prompts: createPromptsRepository,
  conversations: createConversationsRepository,
  sharedMemory: createSharedMemoryRepository,
};

/** Every conversations repository for one actor, each made at first use. */
export const createConversationsRepositories = lazyRepositories(conversationsRepositoryFactories);
export type ConversationsRepositories = RepositoriesOf<typeof conversationsRepositoryFactories>;
