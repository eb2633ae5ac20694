/**
 * The repository style before the engine: a callback over raw Drizzle inside a unit for the
 * actor. Kept only while the vault repositories move to statements (`statement.*` + `run`);
 * new code must not use it.
 */
import { type Column, eq, type SQL, sql } from 'drizzle-orm';
import type { Actor } from './actor.ts';
import type { DrizzleHandle, Executor } from './database.ts';

/** A unit's executor with the old `prepared` helper (built per call: not a prepared statement). */
export type LegacyExecutor = Executor & {
  prepared<Q>(key: string, build: (db: DrizzleHandle) => Q): Q;
};

/** @deprecated Write statements and call `run()` / `unit()`. */
export function actAs<R>(
  exec: Executor,
  actor: Actor,
  fn: (tx: LegacyExecutor) => Promise<R>,
): Promise<R> {
  return exec.unit({ actor, crypto: undefined }, 'write', (tx) =>
    fn(
      Object.assign(Object.create(tx) as Executor, {
        prepared: (_: string, build: (db: DrizzleHandle) => unknown) => build(tx.db),
      }) as LegacyExecutor,
    ),
  );
}

/** @deprecated Use `owned()` in a statement. */
export function ownedBy(actor: Actor, userColumn: Column): SQL | undefined {
  return actor.kind === 'service' ? undefined : eq(userColumn, actor.userId);
}

/** @deprecated Use `owned()` in a statement. */
export function inOrganization(actor: Actor, organizationColumn: Column): SQL | undefined {
  if (actor.kind === 'service') return undefined;
  if (!actor.organizationId) return sql`false`;
  return eq(organizationColumn, actor.organizationId);
}
