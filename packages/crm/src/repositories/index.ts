import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createBusinessDiscoveryRepository } from './business-discovery.ts';
import { createLeadsRepository } from './leads.ts';

export * from './business-discovery.ts';
export * from './leads.ts';

/** The crm repositories by name (combined with other domains' by `@exora/db`). */
export const crmRepositoryFactories = {
  businessDiscovery: createBusinessDiscoveryRepository,
  leads: createLeadsRepository,
};

export const createCrmRepositories = lazyRepositories(crmRepositoryFactories);
export type CrmRepositories = RepositoriesOf<typeof crmRepositoryFactories>;
