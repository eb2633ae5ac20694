import type { Actor, Executor } from '@exora/core';
import type { CryptoServices } from '@exora/crypto';

/**
 * What every repository of a domain is made with: where to run (a database or a
 * transaction), for whom, and the crypto services for secrets.
 */
export interface DomainContext {
  readonly exec: Executor;
  readonly actor: Actor;
  readonly crypto: CryptoServices;
}
