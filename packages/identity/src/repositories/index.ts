import type { DomainContext } from '../context.ts';
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

/** Every identity repository, for one actor on one database or transaction. */
export function createIdentityRepositories(ctx: DomainContext) {
  return {
    users: createUsersRepository(ctx),
    organizations: createOrganizationsRepository(ctx),
    userProfiles: createUserProfilesRepository(ctx),
    sessions: createSessionsRepository(ctx),
    subdomainConfigs: createSubdomainConfigsRepository(ctx),
    setupProgress: createSetupProgressRepository(ctx),
  };
}
export type IdentityRepositories = ReturnType<typeof createIdentityRepositories>;
