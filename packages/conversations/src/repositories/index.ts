import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createChatSessionsRepository } from './chat-sessions.ts';
import { createPromptsRepository } from './prompts.ts';

export * from './chat-sessions.ts';
export * from './prompts.ts';

/** The conversations repositories by name (combined with other domains' by `@exora/db`). */
export const conversationsRepositoryFactories = {
  chatSessions: createChatSessionsRepository,
  prompts: createPromptsRepository,
};

/** Every conversations repository for one actor, each made at first use. */
export const createConversationsRepositories = lazyRepositories(conversationsRepositoryFactories);
export type ConversationsRepositories = RepositoriesOf<typeof conversationsRepositoryFactories>;
