import type { Dialect } from '@exora/core';
import { apiKeysSuite } from './api-keys.ts';
import { useVaultDatabase } from './context.ts';
import { credentialsSuite } from './credentials.ts';
import { integrationsSuite } from './integrations.ts';
import { oauthTokensSuite } from './oauth-tokens.ts';

/** Every behaviour of the vault, against one dialect (one thin test file per driver). */
export function vaultSuites(dialect: Dialect) {
  const ctx = useVaultDatabase(dialect);
  oauthTokensSuite(ctx);
  credentialsSuite(ctx);
  apiKeysSuite(ctx);
  integrationsSuite(ctx);
}
