import type { Dialect } from '@exora/core';
import { apiKeysSuite } from './api-keys.ts';
import { atomicitySuite } from './atomicity.ts';
import { useVaultDatabase } from './context.ts';
import { credentialsSuite } from './credentials.ts';
import { encryptionSuite } from './encryption.ts';
import { integrationsSuite } from './integrations.ts';
import { isolationSuite } from './isolation.ts';
import { oauthTokensSuite } from './oauth-tokens.ts';
import { rotationSuite } from './rotation.ts';
import { validationSuite } from './validation.ts';

/** Every behaviour of the vault, against one dialect (one thin test file per driver). */
export function vaultSuites(dialect: Dialect) {
  const ctx = useVaultDatabase(dialect);
  oauthTokensSuite(ctx);
  credentialsSuite(ctx);
  apiKeysSuite(ctx);
  integrationsSuite(ctx);
  encryptionSuite(ctx);
  isolationSuite(ctx);
  validationSuite(ctx);
  atomicitySuite(ctx);
  rotationSuite(dialect);
}
