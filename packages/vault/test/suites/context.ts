import { randomBytes } from 'node:crypto';
import {
  type Actor,
  type Database,
  type Dialect,
  type Executor,
  serviceActor,
  userActor,
} from '@exora/core';
import { createTestDatabase, type TestDatabase } from '@exora/core/testing';
import { BlindIndex, type CryptoServices, FieldCipher, Keyring } from '@exora/crypto';
import { createIdentityRepositories } from '@exora/identity';
import * as identitySchema from '@exora/identity/schema';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll } from 'vitest';
import { createVaultRepositories, type VaultRepositories } from '../../src/index.ts';
import * as vaultSchema from '../../src/schema/index.ts';

const VAULT_TABLES = ['oauth_tokens', 'credentials', 'api_keys', 'integrations'] as const;
export type VaultTable = (typeof VAULT_TABLES)[number];

export interface VaultSuiteContext {
  dialect: Dialect;
  /** This file's database (identity and vault tables), created in beforeAll. */
  db(): Database;
  /** Keyring `['k1']`, and a blind index. */
  crypto: CryptoServices;
  /** The same `k1` key plus `k2`, active `k2` (a key rollover), and the same blind index. */
  rolledCrypto: CryptoServices;
  /** A new user (through the identity repositories); returns its id. */
  newUser(label?: string): Promise<string>;
  /** The vault repositories for an actor (default crypto: `crypto`, default executor: `db()`). */
  vault(actor: Actor, options?: { crypto?: CryptoServices; exec?: Executor }): VaultRepositories;
  asUser(userId: string, crypto?: CryptoServices): VaultRepositories;
  asService(crypto?: CryptoServices): VaultRepositories;
  /** Raw rows of a table, by plain SQL (no repository in between). */
  raw(table: VaultTable, where?: { column: string; value: string }): Promise<Record<string, any>[]>;
  /** Every row of the four vault tables, ordered by id: to prove a call wrote nothing. */
  snapshot(): Promise<Record<VaultTable, Record<string, any>[]>>;
}

function cryptoOf(keys: { id: string; key: Buffer }[], activeKeyId: string, index: BlindIndex) {
  const keyring = new Keyring({ keys, activeKeyId });
  return { keyring, cipher: new FieldCipher(keyring), blindIndex: index };
}

/** Opens this suite's own database. Call at file level, or inside a `describe` for its own one. */
export function useVaultDatabase(dialect: Dialect): VaultSuiteContext {
  let test: TestDatabase | undefined;
  beforeAll(async () => {
    test = await createTestDatabase(dialect, [identitySchema, vaultSchema]);
  });
  afterAll(async () => {
    await test?.dispose();
  });

  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const index = new BlindIndex(randomBytes(32));
  const crypto = cryptoOf([{ id: 'k1', key: k1 }], 'k1', index);
  const rolledCrypto = cryptoOf(
    [
      { id: 'k1', key: k1 },
      { id: 'k2', key: k2 },
    ],
    'k2',
    index,
  );
  const db = () => {
    if (!test) throw new Error('database not ready');
    return test.db;
  };
  const setup = serviceActor('vault test setup');
  const vault = (actor: Actor, options: { crypto?: CryptoServices; exec?: Executor } = {}) =>
    createVaultRepositories({
      exec: options.exec ?? db(),
      actor,
      crypto: options.crypto ?? crypto,
    });
  let users = 0;

  const raw = async (table: VaultTable, where?: { column: string; value: string }) => {
    const filter = where ? sql` where ${sql.identifier(where.column)} = ${where.value}` : sql``;
    return db().execute<Record<string, any>>(
      sql`select * from ${sql.identifier(table)}${filter} order by id`,
    );
  };

  return {
    dialect,
    db,
    crypto,
    rolledCrypto,
    async newUser(label = 'user') {
      users += 1;
      const identity = createIdentityRepositories({ exec: db(), actor: setup, crypto });
      const user = await identity.users.create({
        email: `${label}-${users}-${randomBytes(4).toString('hex')}@vault.example.test`,
      });
      return user.id;
    },
    vault,
    asUser: (userId, c) => vault(userActor(userId), c ? { crypto: c } : {}),
    asService: (c) => vault(serviceActor('vault tests'), c ? { crypto: c } : {}),
    raw,
    async snapshot() {
      const out = {} as Record<VaultTable, Record<string, any>[]>;
      for (const table of VAULT_TABLES) out[table] = await raw(table);
      return out;
    },
  };
}
