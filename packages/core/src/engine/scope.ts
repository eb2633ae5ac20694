/**
 * What a transaction remembers while it runs, the same on both dialects: the actor it was
 * opened for, the lock that runs its calls one at a time, and the first failure, after which
 * nothing more runs and the transaction rolls back, whatever its callback returns.
 */
import type { Actor } from '../actor.ts';
import { CallLock } from '../database.ts';
import { TransactionStateError } from '../errors.ts';
import { ContextStorage } from './context-storage.ts';

/** The call (a lock holder) the running async context belongs to. */
const currentCall = new ContextStorage<object>();

export class TxScope {
  readonly lock = new CallLock();
  /** The first error of a call: the transaction is then rolled back. */
  failed: unknown;
  ended = false;

  constructor(
    /** The actor whose settings the transaction carries (undefined: a raw transaction). */
    public actor: Actor | undefined,
  ) {}

  /** Runs one call of this transaction, after any call in flight, and records its failure. */
  async call<R>(fn: () => Promise<R> | R, options: { savepoint?: boolean } = {}): Promise<R> {
    const current = currentCall.getStore();
    if (this.lock.holds(current)) return this.guarded(fn, options.savepoint);
    const holder = {};
    const waiting = this.lock.acquire(holder);
    if (waiting) await waiting;
    try {
      return await currentCall.run(holder, () => this.guarded(fn, options.savepoint));
    } finally {
      this.lock.release();
    }
  }

  /**
   * Checks that `actor` may use this transaction: the one it was opened for, or, in a raw
   * transaction, the first actor that uses it (true then: its settings must be sent first).
   */
  admit(actor: Actor): boolean {
    if (this.actor === undefined) {
      this.actor = actor;
      return true;
    }
    if (!sameActor(this.actor, actor)) {
      throw new TransactionStateError('This transaction belongs to another actor');
    }
    return false;
  }

  /** A savepoint's failure is rolled back with it: it does not fail the transaction. */
  private async guarded<R>(fn: () => Promise<R> | R, savepoint = false): Promise<R> {
    if (this.ended) throw new TransactionStateError('This transaction has already ended');
    if (this.failed !== undefined) {
      throw new TransactionStateError(
        'An earlier call in this transaction failed: the transaction will be rolled back',
      );
    }
    try {
      return await fn();
    } catch (error) {
      if (savepoint) this.failed = undefined;
      else if (this.failed === undefined) this.failed = error;
      throw error;
    }
  }
}

function sameActor(a: Actor, b: Actor): boolean {
  if (a === b) return true;
  if (a.kind === 'service' || b.kind === 'service') return a.kind === b.kind;
  return a.userId === b.userId && a.organizationId === b.organizationId;
}
