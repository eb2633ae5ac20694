import { randomBytes } from 'node:crypto';
import {
  type Actor,
  actAs,
  type Executor,
  NotFoundError,
  normalizeEmail,
  optionalText,
  PermissionError,
  requireOneOf,
  requireService,
  requireText,
  requireUuid,
  ValidationError,
} from '@exora/core';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from '@exora/crypto';
import { and, eq, getTableColumns, or, type SQL, sql } from 'drizzle-orm';
import type { DomainContext } from '../context.ts';
import { organizations } from '../schema/organizations.ts';
import { USER_ROLES, type User, type UserRole, users } from '../schema/users.ts';

/** A user as repositories return it: never the password hash. */
export type PublicUser = Omit<User, 'passwordHash'>;

export interface CreateUserInput {
  email: string;
  /** Hashed with Argon2id before anything is written. Omit for users who sign in elsewhere. */
  password?: string;
  name?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  profileImageUrl?: string | null;
  role?: UserRole;
  /** Join an organization by its invite token (seed 002's signup). */
  inviteToken?: string;
  /** Place the user in an organization directly (service contexts and that organization's admins). */
  organizationId?: string;
}

export const MIN_PASSWORD_LENGTH = 8;

/**
 * A hash to verify against when the email is unknown, so an unknown email takes as long as a
 * wrong password and sign-in does not tell which addresses have accounts.
 */
let decoyHash: Promise<string> | undefined;
const decoy = () => {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
};

/** Every column but the hash, of this dialect's table. */
export function publicColumns(t: typeof users.pg) {
  const { passwordHash: _hidden, ...rest } = getTableColumns(t);
  return rest;
}

function validatePassword(password: unknown): string {
  if (typeof password !== 'string') throw new ValidationError('password', 'must be a string');
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ValidationError('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new ValidationError('password', `must be at most ${MAX_PASSWORD_LENGTH} characters`);
  }
  return password;
}

/** Which users the actor may see: themselves and their organization's members; all for a service. */
export function visibleUsers(actor: Actor, t: typeof users.pg): SQL | undefined {
  if (actor.kind === 'service') return undefined;
  return actor.organizationId
    ? or(eq(t.id, actor.userId), eq(t.organizationId, actor.organizationId))
    : eq(t.id, actor.userId);
}

/** The acting user's role in `organizationId`, if they are an admin there. */
async function assertAdminOf(tx: Executor, actor: Actor, organizationId: string): Promise<void> {
  if (actor.kind === 'service') return;
  const t = tx.table(users);
  const [me] = await tx.db
    .select({ role: t.role, organizationId: t.organizationId })
    .from(t)
    .where(eq(t.id, actor.userId));
  if (!me || me.organizationId !== organizationId || me.role !== 'admin') {
    throw new PermissionError("Only the organization's admins may do this");
  }
}

export function createUsersRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;

  const selectVisible = async (tx: Executor, where: SQL) => {
    const t = tx.table(users);
    const [row] = await tx.db
      .select(publicColumns(t))
      .from(t)
      .where(and(where, visibleUsers(actor, t)));
    return (row as PublicUser | undefined) ?? null;
  };

  return {
    /**
     * Creates a user. A service may create anyone; a user only as an admin adding a member to
     * their own organization. The password is hashed before any SQL runs.
     */
    async create(input: CreateUserInput): Promise<PublicUser> {
      const email = normalizeEmail(input.email);
      const password = input.password === undefined ? undefined : validatePassword(input.password);
      const name = optionalText(input.name, 'name', { max: 200 });
      const firstName = optionalText(input.firstName, 'firstName', { max: 100 });
      const lastName = optionalText(input.lastName, 'lastName', { max: 100 });
      const profileImageUrl = optionalText(input.profileImageUrl, 'profileImageUrl', { max: 2048 });
      const role =
        input.role === undefined ? 'regular' : requireOneOf(input.role, 'role', USER_ROLES);
      const directOrg =
        input.organizationId === undefined
          ? undefined
          : requireUuid(input.organizationId, 'organizationId');
      const inviteHash =
        input.inviteToken === undefined
          ? undefined
          : crypto.blindIndex.hash(requireText(input.inviteToken, 'inviteToken', { max: 200 }), {
              normalize: 'none',
            });
      if (directOrg && inviteHash) {
        throw new ValidationError(
          'organizationId',
          'give either organizationId or inviteToken, not both',
        );
      }
      if (actor.kind === 'user' && !directOrg) {
        throw new PermissionError('A user may only add members to their own organization');
      }
      const passwordHash = password === undefined ? null : await hashPassword(password);

      return actAs(ctx.exec, actor, async (tx) => {
        let organizationId: string | null = directOrg ?? null;
        if (inviteHash) {
          const o = tx.table(organizations);
          const [org] = await tx.db
            .select({ id: o.id })
            .from(o)
            .where(eq(o.inviteTokenHash, inviteHash));
          if (!org) throw new ValidationError('inviteToken', 'does not match any organization');
          organizationId = org.id;
        }
        if (organizationId) await assertAdminOf(tx, actor, organizationId);
        const t = tx.table(users);
        const [row] = await tx.db
          .insert(t)
          .values({
            email,
            passwordHash,
            name: name ?? null,
            firstName: firstName ?? null,
            lastName: lastName ?? null,
            profileImageUrl: profileImageUrl ?? null,
            role,
            organizationId,
          })
          .returning(publicColumns(t));
        return row as PublicUser;
      });
    },

    /**
     * Checks an email and password. On success records the login and, when the stored hash is
     * bcrypt (seed 002) or Argon2id with older parameters, replaces it with a current one; both
     * writes happen in one transaction, and only if the hash is still the one verified.
     * Returns null for an unknown email or a wrong password alike. A service call (a login
     * endpoint acts before anyone is signed in).
     */
    async authenticate(emailInput: string, password: string): Promise<PublicUser | null> {
      requireService(actor, 'authenticate');
      const email = normalizeEmail(emailInput);
      if (
        typeof password !== 'string' ||
        password.length === 0 ||
        password.length > MAX_PASSWORD_LENGTH
      ) {
        return null;
      }
      const stored = await actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(users);
        const [row] = await tx.db
          .select({ id: t.id, passwordHash: t.passwordHash })
          .from(t)
          .where(sql`lower(${t.email}) = ${email}`);
        return row;
      });
      if (!stored?.passwordHash) {
        await verifyPassword(password, await decoy());
        return null;
      }
      const result = await verifyPassword(password, stored.passwordHash);
      if (!result.valid) return null;
      const upgraded = result.needsRehash ? await hashPassword(password) : undefined;
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(users);
        const [row] = await tx.db
          .update(t)
          .set({ lastLoginAt: new Date(), ...(upgraded ? { passwordHash: upgraded } : {}) })
          .where(and(eq(t.id, stored.id), eq(t.passwordHash, stored.passwordHash!)))
          .returning(publicColumns(t));
        // The hash changed between verify and write (a password change): refuse this login.
        return (row as PublicUser | undefined) ?? null;
      });
    },

    /** Sets a new password (the user themself, or a service); the old one stops working. */
    async setPassword(userId: string, password: string): Promise<void> {
      const id = requireUuid(userId, 'userId');
      if (actor.kind === 'user' && actor.userId !== id) {
        throw new PermissionError('Users may only change their own password');
      }
      const hash = await hashPassword(validatePassword(password));
      await actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(users);
        const rows = await tx.db
          .update(t)
          .set({ passwordHash: hash, updatedAt: new Date() })
          .where(eq(t.id, id))
          .returning({ id: t.id });
        if (rows.length === 0) throw new NotFoundError('user');
      });
    },

    async findById(userId: string): Promise<PublicUser | null> {
      const id = requireUuid(userId, 'userId');
      return actAs(ctx.exec, actor, (tx) => selectVisible(tx, eq(tx.table(users).id, id)));
    },

    /** Case-insensitive. */
    async findByEmail(emailInput: string): Promise<PublicUser | null> {
      const email = normalizeEmail(emailInput);
      return actAs(ctx.exec, actor, (tx) =>
        selectVisible(tx, sql`lower(${tx.table(users).email}) = ${email}`),
      );
    },

    /** Changes a member's role: an admin of the member's organization, or a service. */
    async setRole(userId: string, role: UserRole): Promise<PublicUser> {
      const id = requireUuid(userId, 'userId');
      const newRole = requireOneOf(role, 'role', USER_ROLES);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(users);
        const [target] = await tx.db
          .select({ organizationId: t.organizationId })
          .from(t)
          .where(and(eq(t.id, id), visibleUsers(actor, t)));
        if (!target) throw new NotFoundError('user');
        if (actor.kind === 'user') {
          if (!target.organizationId)
            throw new PermissionError('The user belongs to no organization');
          await assertAdminOf(tx, actor, target.organizationId);
        }
        const [row] = await tx.db
          .update(t)
          .set({ role: newRole, updatedAt: new Date() })
          .where(eq(t.id, id))
          .returning(publicColumns(t));
        return row as PublicUser;
      });
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
