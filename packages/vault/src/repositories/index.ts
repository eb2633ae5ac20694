import type { DomainContext } from '@exora/core';
import { createApiKeysRepository } from './api-keys.ts';
import { createCredentialsRepository } from './credentials.ts';
import { createIntegrationsRepository } from './integrations.ts';
import { createOauthTokensRepository } from './oauth-tokens.ts';

export * from './api-keys.ts';
export * from './credentials.ts';
export * from './integrations.ts';
export * from './oauth-tokens.ts';
export type { RotateEncryptionOptions } from './rotation.ts';

/** Every vault repository, for one actor on one database or transaction. */
export function createVaultRepositories(ctx: DomainContext) {
  return {
    oauthTokens: createOauthTokensRepository(ctx),
    credentials: createCredentialsRepository(ctx),
    apiKeys: createApiKeysRepository(ctx),
    integrations: createIntegrationsRepository(ctx),
  };
}
export type VaultRepositories = ReturnType<typeof createVaultRepositories>;
