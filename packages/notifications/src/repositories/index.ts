import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createUserNotificationsRepository } from './user-notifications.ts';

export * from './user-notifications.ts';

/** The notifications repositories by name (combined with other domains' by `@exora/db`). */
export const notificationsRepositoryFactories = {
  userNotifications: createUserNotificationsRepository,
};

export const createNotificationsRepositories = lazyRepositories(notificationsRepositoryFactories);
export type NotificationsRepositories = RepositoriesOf<typeof notificationsRepositoryFactories>;
