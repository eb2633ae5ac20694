/**
 * Who a repository call runs for. A user sees their own rows (and their organization's, for
 * organization-scoped data); a service context acts across tenants and is named at the call,
 * with a reason, so it shows up in review and in logs.
 */
import { type Column, eq, type SQL, sql } from 'drizzle-orm';
import type { Executor } from './database.ts';
import { ExoraDbError } from './errors.ts';
import { RLS_SETTINGS } from './kit/table.ts';

export type Actor = UserActor | ServiceActor;

export interface UserActor {
  readonly kind: 'user';
  readonly userId: string;
  readonly organizationId: string | undefined;
}

export interface ServiceActor {
  readonly kind: 'service';
  readonly reason: string;
}

/** A field of the input failed validation; nothing was sent to the database. */
export class ValidationError extends ExoraDbError {
  override name = 'ValidationError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Invalid ${field}: ${problem}`);
  }
}

/** No row the actor may see matches. (Another user's row is reported the same way.) */
export class NotFoundError extends ExoraDbError {
  override name = 'NotFoundError';
  constructor(readonly entity: string) {
    super(`${entity} not found`);
  }
}

/** The actor may not make this call at all (e.g. a user calling a service-only method). */
export class PermissionError extends ExoraDbError {
  override name = 'PermissionError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export function userActor(userId: string, organizationId?: string | null): UserActor {
  if (!isUuid(userId)) throw new ValidationError('actor.userId', 'must be a UUID');
  if (organizationId != null && !isUuid(organizationId)) {
    throw new ValidationError('actor.organizationId', 'must be a UUID');
  }
  return Object.freeze({ kind: 'user', userId, organizationId: organizationId ?? undefined });
}

export function serviceActor(reason: string): ServiceActor {
  if (typeof reason !== 'string' || reason.trim().length < 3) {
    throw new ValidationError(
      'actor.reason',
      'a service context must say why it acts across users',
    );
  }
  return Object.freeze({ kind: 'service', reason: reason.trim() });
}

/** The transaction-local settings Postgres policies read for this actor. */
export function actorSettings(actor: Actor): Record<string, string> {
  if (actor.kind === 'service') return { [RLS_SETTINGS.service]: 'on' };
  return {
    [RLS_SETTINGS.userId]: actor.userId,
    [RLS_SETTINGS.organizationId]: actor.organizationId ?? '',
    [RLS_SETTINGS.service]: 'off',
  };
}

/**
 * Runs `fn` as one unit for the actor: a transaction (a savepoint when nested) that carries the
 * actor's row-level-security settings on Postgres. A failed call writes nothing.
 */
export function actAs<R>(
  exec: Executor,
  actor: Actor,
  fn: (tx: Executor) => Promise<R>,
): Promise<R> {
  return exec.transaction(async (tx) => {
    await tx.setLocal(actorSettings(actor));
    return fn(tx);
  });
}

/**
 * The user a call is about. A user actor acts on their own rows: passing nothing or their own
 * id is the same, passing another user's id is a `PermissionError` (never silently redirected).
 * A service context must name the user.
 */
export function subjectOf(actor: Actor, userId: unknown): string {
  if (actor.kind === 'service') {
    if (!isUuid(userId)) throw new ValidationError('userId', 'must be a UUID');
    return userId.toLowerCase();
  }
  if (userId !== undefined && userId !== null) {
    if (!isUuid(userId)) throw new ValidationError('userId', 'must be a UUID');
    if (userId.toLowerCase() !== actor.userId.toLowerCase()) {
      throw new PermissionError('A user may only act on their own rows');
    }
  }
  return actor.userId;
}

/** Only a service context may call this. */
export function requireService(actor: Actor, what: string): asserts actor is ServiceActor {
  if (actor.kind !== 'service') {
    throw new PermissionError(`${what} acts across users: call it from a service context`);
  }
}

/** The row filter for a user-owned table: the actor's own rows; everything for a service. */
export function ownedBy(actor: Actor, userColumn: Column): SQL | undefined {
  return actor.kind === 'service' ? undefined : eq(userColumn, actor.userId);
}

/** The row filter for an organization-owned table (seed 002's company scoping). */
export function inOrganization(actor: Actor, organizationColumn: Column): SQL | undefined {
  if (actor.kind === 'service') return undefined;
  if (!actor.organizationId) {
    // No organization: no rows, rather than everyone's.
    return sql`false`;
  }
  return eq(organizationColumn, actor.organizationId);
}
