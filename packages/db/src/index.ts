export * from '@exora/core';
export * from '@exora/crypto';
export * from '@exora/identity';
export * from '@exora/vault';
export { type CreateDbOptions, createDb, type ExoraDb, type Repositories } from './create-db.ts';
export * as schema from './schema.ts';
