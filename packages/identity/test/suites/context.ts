import type { Actor, Database, Dialect } from '@exora/core';
import { serviceActor, userActor } from '@exora/core';
import { createTestDatabase, type TestDatabase } from '@exora/core/testing';
import type { CryptoServices } from '@exora/crypto';
import { createTestCrypto } from '@exora/crypto/testing';
import { afterAll, beforeAll } from 'vitest';
import { createIdentityRepositories, type IdentityRepositories } from '../../src/index.ts';
import * as identitySchema from '../../src/schema/index.ts';

export interface SuiteContext {
  dialect: Dialect;
  db(): Database;
  crypto: CryptoServices;
  /** Repositories acting for `actor` on this file's database. */
  as(actor: Actor): IdentityRepositories;
  service(): IdentityRepositories;
  user(userId: string, organizationId?: string | null): IdentityRepositories;
}

export function useIdentityDatabase(dialect: Dialect): SuiteContext {
  let test: TestDatabase | undefined;
  const crypto = createTestCrypto();
  beforeAll(async () => {
    test = await createTestDatabase(dialect, [identitySchema]);
  });
  afterAll(async () => {
    await test?.dispose();
  });
  const db = () => {
    if (!test) throw new Error('database not ready');
    return test.db;
  };
  const as = (actor: Actor) => createIdentityRepositories({ exec: db(), actor, crypto });
  return {
    dialect,
    db,
    crypto,
    as,
    service: () => as(serviceActor('identity tests')),
    user: (userId, organizationId) => as(userActor(userId, organizationId)),
  };
}

export const uniqueEmail = (label = 'u') =>
  `${label}-${Math.random().toString(36).slice(2, 10)}@Example.test`;
