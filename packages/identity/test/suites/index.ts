import type { Dialect } from '@exora/core';
import { useIdentityDatabase } from './context.ts';
import { organizationsSuite } from './organizations.ts';
import { profilesSuite } from './profiles.ts';
import { sessionsSuite } from './sessions.ts';
import { usersSuite } from './users.ts';

export function identitySuites(dialect: Dialect) {
  const ctx = useIdentityDatabase(dialect);
  usersSuite(ctx);
  organizationsSuite(ctx);
  sessionsSuite(ctx);
  profilesSuite(ctx);
}
