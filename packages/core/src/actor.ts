/**
 * Who a repository call runs for. A user sees their own rows (and their organization's, for
 * organization-scoped data); a service context acts across tenants and is named at the call,
 * with a reason, so it shows up in review and in logs.
 */
import { PermissionError, ValidationError } from './errors.ts';

export type Actor = UserActor | ServiceActor;

export interface UserActor {
  readonly kind: 'user';
  /** Lower-case UUID. */
  readonly userId: string;
  /**
   * The organization the caller claims the user acts in. It is checked against the user's
   * membership in the database at every call (a mismatch is a `PermissionError`); left out, the
   * user's own organization is used.
   */
  readonly organizationId: string | undefined;
}

export interface ServiceActor {
  readonly kind: 'service';
  readonly reason: string;
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
  return Object.freeze({
    kind: 'user',
    userId: userId.toLowerCase(),
    organizationId: organizationId?.toLowerCase() ?? undefined,
  });
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
    if (userId.toLowerCase() !== actor.userId) {
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
