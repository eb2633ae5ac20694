import { lazyRepositories, type RepositoriesOf } from '@exora/core';
import { createApiKeysRepository } from './api-keys.ts';
import { createCredentialsRepository } from './credentials.ts';
import { createIntegrationsRepository } from './integrations.ts';
import { createOauthTokensRepository } from './oauth-tokens.ts';

export * from './api-keys.ts';
export * from './credentials.ts';
export * from './integrations.ts';
export * from './oauth-tokens.ts';
export type { RotateEncryptionOptions } from './rotation.ts';

/** The vault repositories by name (combined with other domains' by `@exora/db`). */
export const vaultRepositoryFactories = {
  oauthTokens: createOauthTokensRepository,
  credentials: createCredentialsRepository,
  apiKeys: createApiKeysRepository,
  integrations: createIntegrationsRepository,
};

/** Every vault repository, for one actor on one database or transaction (made at first use). */
export const createVaultRepositories = lazyRepositories(vaultRepositoryFactories);

export type VaultRepositories = RepositoriesOf<typeof vaultRepositoryFactories>;
