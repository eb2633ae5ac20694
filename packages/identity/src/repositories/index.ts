import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createOrganizationsRepository } from './organizations.ts';
import { createSessionsRepository } from './sessions.ts';
import { createSetupProgressRepository } from './setup-progress.ts';
import { createSubdomainConfigsRepository } from './subdomain-configs.ts';
import { createUserProfilesRepository } from './user-profiles.ts';
import { createUsersRepository } from './users.ts';

export * from './organizations.ts';
export * from './sessions.ts';
export * from './setup-progress.ts';
export * from './subdomain-configs.ts';
export * from './user-profiles.ts';
export * from './users.ts';

/** The identity repositories by name (combined with other domains' by `@exora/db`). */
export const identityRepositoryFactories = {
  users: createUsersRepository,
  organizations: createOrganizationsRepository,
  userProfiles: createUserProfilesRepository,
  sessions: createSessionsRepository,
  subdomainConfigs: createSubdomainConfigsRepository,
  setupProgress: createSetupProgressRepository,
};

/** Every identity repository, for one actor on one database or transaction (made at first use). */
export const createIdentityRepositories = lazyRepositories(identityRepositoryFactories);

export type IdentityRepositories = RepositoriesOf<typeof identityRepositoryFactories>;
