import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createEmailQueueRepository } from './email-queue.ts';
import { createEmailsRepository } from './emails.ts';
import { createUserNotificationsRepository } from './user-notifications.ts';

export * from './email-queue.ts';
export * from './emails.ts';
export * from './user-notifications.ts';

/** The notifications repositories by name (combined with other domains' by `@exora/db`). */
export const notificationsRepositoryFactories = {
  userNotifications: createUserNotificationsRepository,
  emails: createEmailsRepository,
  emailQueue: createEmailQueueRepository,
};

export const createNotificationsRepositories = lazyRepositories(notificationsRepositoryFactories);
export type NotificationsRepositories = RepositoriesOf<typeof notificationsRepositoryFactories>;
