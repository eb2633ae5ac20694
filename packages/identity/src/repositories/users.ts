import { randomBytes } from 'node:crypto';
import {
  type DomainContext,
  found,
  NotFoundError,
  normalizeEmail,
  optionalText,
  PermissionError,
  requireOneOf,
  requireService,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from '@exora/crypto';
import { and, eq, getTableColumns, ne, sql } from 'drizzle-orm';
import { USER_ROLES, type User, type UserRole, users } from '../schema/users.ts';
import { organizationByInvite } from './organizations.ts';

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
  /** Join an organization by its invite token (signup by invitation). */
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
export function publicUserColumns(t: typeof users.pg) {
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

const insertUser = statement.one(
  'users.insert',
  users,
  [
    'email',
    'passwordHash',
    'name',
    'firstName',
    'lastName',
    'profileImageUrl',
    'role',
    'organizationId',
  ],
  ({ db, t, $ }) =>
    db
      .insert(t)
      .values({
        email: $.email,
        passwordHash: $.passwordHash,
        name: $.name,
        firstName: $.firstName,
        lastName: $.lastName,
        profileImageUrl: $.profileImageUrl,
        role: $.role,
        organizationId: $.organizationId,
      })
      .returning(publicUserColumns(t)),
  { unscoped: 'create() checks the organization first; on Postgres the policy checks it too' },
);

/** True when the acting user is an admin of the organization `$.organizationId` (a service: always). */
const adminOf = statement.maybe(
  'users.adminOf',
  users,
  ['organizationId'],
  ({ db, t, $, actorHasRole, actorOrganization }) =>
    db
      .select({ ok: sql<number>`1` })
      .from(t)
      .where(sql`${actorHasRole('admin')} and ${$.organizationId} = ${actorOrganization()}`)
      .limit(1),
);

const credentialsByEmail = statement.maybe(
  'users.credentialsByEmail',
  users,
  ['email'],
  ({ db, t, $ }) =>
    db
      .select({ id: t.id, passwordHash: t.passwordHash })
      .from(t)
      .where(sql`lower(${t.email}) = ${$.email}`),
  { serviceOnly: true },
);

/** Records a login (and a rehash), only if the hash is still the one just verified. */
const recordLogin = statement.maybe(
  'users.recordLogin',
  users,
  ['now', 'upgradedHash', 'id', 'verifiedHash'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({
        lastLoginAt: $.bind(t.lastLoginAt, 'now'),
        passwordHash: sql`coalesce(${$.upgradedHash}, ${t.passwordHash})`,
      })
      .where(and(eq(t.id, $.id), eq(t.passwordHash, $.verifiedHash)))
      .returning(publicUserColumns(t)),
  { serviceOnly: true },
);

const setPasswordHash = statement.count(
  'users.setPassword',
  users,
  ['passwordHash', 'now'],
  ({ db, t, $, owner }) =>
    db
      .update(t)
      .set({
        passwordHash: $.bind(t.passwordHash, 'passwordHash'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(eq(t.id, owner)),
);

const findVisible = statement.maybe('users.findById', users, ['id'], ({ db, t, $, owned }) =>
  db
    .select(publicUserColumns(t))
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

const findVisibleByEmail = statement.maybe(
  'users.findByEmail',
  users,
  ['email'],
  ({ db, t, $, owned }) =>
    db
      .select(publicUserColumns(t))
      .from(t)
      .where(and(sql`lower(${t.email}) = ${$.email}`, owned())),
);

/**
 * Sets a member's role: an admin of the member's organization, never their own role (the
 * Postgres guard refuses that too, so both dialects answer alike).
 */
const updateRole = statement.maybe(
  'users.setRole',
  users,
  ['role', 'now', 'id'],
  ({ db, t, $, owner, actorHasRole, actorOrganization }) =>
    db
      .update(t)
      .set({ role: $.bind(t.role, 'role'), updatedAt: $.bind(t.updatedAt, 'now') })
      .where(
        and(
          eq(t.id, $.id),
          ne(t.id, owner),
          sql`(${t.organizationId} = ${actorOrganization()} and ${actorHasRole('admin')})`,
        ),
      )
      .returning(publicUserColumns(t)),
);

const setRoleAsService = statement.maybe(
  'users.setRoleAsService',
  users,
  ['role', 'now', 'id'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ role: $.bind(t.role, 'role'), updatedAt: $.bind(t.updatedAt, 'now') })
      .where(eq(t.id, $.id))
      .returning(publicUserColumns(t)),
  { serviceOnly: true },
);

export function createUsersRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;

  return {
    /**
     * Creates a user. A service may create anyone; a user only as an admin adding a member to
     * their own organization. The password is hashed before any SQL runs.
     */
    async create(input: CreateUserInput): Promise<PublicUser> {
      if (typeof input !== 'object' || input === null) {
        throw new ValidationError('input', 'must be an object');
      }
      const email = normalizeEmail(input.email);
      const password = input.password === undefined ? undefined : validatePassword(input.password);
      const values = {
        email,
        name: optionalText(input.name, 'name', { max: 200 }) ?? null,
        firstName: optionalText(input.firstName, 'firstName', { max: 100 }) ?? null,
        lastName: optionalText(input.lastName, 'lastName', { max: 100 }) ?? null,
        profileImageUrl:
          optionalText(input.profileImageUrl, 'profileImageUrl', { max: 2048 }) ?? null,
        role: input.role === undefined ? 'regular' : requireOneOf(input.role, 'role', USER_ROLES),
      };
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
      const insert = (tx: DomainContext, organizationId: string | null) =>
        run(
          tx,
          insertUser,
          Object.assign({}, values, { passwordHash, organizationId }),
        ) as Promise<PublicUser>;
      if (!directOrg && !inviteHash) return insert(ctx, null);
      return unit(ctx, 'write', async (tx) => {
        let organizationId = directOrg ?? null;
        if (inviteHash) {
          const org = await run(tx, organizationByInvite, { hash: inviteHash });
          if (!org) throw new ValidationError('inviteToken', 'does not match any organization');
          organizationId = org.id;
        } else if (actor.kind === 'user') {
          if (!(await run(tx, adminOf, { organizationId }))) {
            throw new PermissionError("Only the organization's admins may do this");
          }
        }
        return insert(tx, organizationId);
      });
    },

    /**
     * Checks an email and password. On success records the login and, when the stored hash is
     * bcrypt or Argon2id with older parameters, replaces it with a current one, only if the hash
     * is still the one verified. Returns null for an unknown email or a wrong password alike.
     * A service call (a login endpoint acts before anyone is signed in).
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
      const stored = await run(ctx, credentialsByEmail, { email });
      if (!stored?.passwordHash) {
        await verifyPassword(password, await decoy());
        return null;
      }
      const result = await verifyPassword(password, stored.passwordHash);
      if (!result.valid) return null;
      const upgradedHash = result.needsRehash ? await hashPassword(password) : null;
      return run(ctx, recordLogin, {
        id: stored.id,
        verifiedHash: stored.passwordHash,
        upgradedHash,
        now: new Date(),
      }) as Promise<PublicUser | null>;
    },

    /** Sets a new password (the user themself, or a service); the old one stops working. */
    async setPassword(userId: string, password: string): Promise<void> {
      const owner = requireUuid(userId, 'userId');
      const passwordHash = await hashPassword(validatePassword(password));
      const changed = await run(ctx, setPasswordHash, { owner, passwordHash, now: new Date() });
      if (changed === 0) throw new NotFoundError('user');
    },

    async findById(userId: string): Promise<PublicUser | null> {
      const id = requireUuid(userId, 'userId');
      return run(ctx, findVisible, { id }) as Promise<PublicUser | null>;
    },

    /** Case-insensitive. */
    async findByEmail(emailInput: string): Promise<PublicUser | null> {
      const email = normalizeEmail(emailInput);
      return run(ctx, findVisibleByEmail, { email }) as Promise<PublicUser | null>;
    },

    /** Changes a member's role: an admin of the member's organization (not their own), or a service. */
    async setRole(userId: string, role: UserRole): Promise<PublicUser> {
      const id = requireUuid(userId, 'userId');
      const params = { id, role: requireOneOf(role, 'role', USER_ROLES), now: new Date() };
      if (actor.kind === 'service') {
        return found('user', run(ctx, setRoleAsService, params)) as Promise<PublicUser>;
      }
      const row = await run(ctx, updateRole, params);
      if (row) return row as PublicUser;
      // Nothing changed: say why (this lookup runs only on the failure path).
      if (!(await run(ctx, findVisible, { id }))) throw new NotFoundError('user');
      throw new PermissionError("Only the organization's admins may do this");
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
