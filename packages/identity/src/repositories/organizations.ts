import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DomainContext,
  found,
  PermissionError,
  requirePlainObject,
  requireService,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
} from '@exora/core';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { type Organization, organizations } from '../schema/organizations.ts';
import { users } from '../schema/users.ts';
import { type PublicUser, publicUserColumns } from './users.ts';

/** An organization as repositories return it: the invite token's hash stays inside. */
export type PublicOrganization = Omit<Organization, 'inviteTokenHash'>;

function newInviteToken(): string {
  return randomBytes(24).toString('base64url');
}

function publicOrganizationColumns(t: typeof organizations.pg) {
  return {
    id: t.id,
    name: t.name,
    settings: t.settings,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}

/** The organization an invite token belongs to: signup, before anyone is a member. */
export const organizationByInvite = statement.maybe(
  'organizations.byInvite',
  organizations,
  ['hash'],
  ({ db, t, $ }) =>
    db.select(publicOrganizationColumns(t)).from(t).where(eq(t.inviteTokenHash, $.hash)),
  { serviceOnly: true },
);

// No `returning`: on Postgres a new organization is not yet visible to its creator (the read
// policy shows members their organization), and the row is known anyway.
const insertOrganization = statement.count(
  'organizations.insert',
  organizations,
  ['id', 'name', 'settings', 'inviteTokenHash', 'now'],
  ({ db, t, $ }) =>
    db.insert(t).values({
      id: $.id,
      name: $.name,
      settings: $.settings,
      inviteTokenHash: $.inviteTokenHash,
      createdAt: $.now,
      updatedAt: $.now,
    }),
  { unscoped: 'anyone may create an organization; the creator joins it in the same unit' },
);

/** The creator joins as admin, only if they belong to no organization yet. */
const joinAsAdmin = statement.count(
  'organizations.joinAsAdmin',
  users,
  ['organizationId', 'now'],
  ({ db, t, $, owner }) =>
    db
      .update(t)
      .set({
        organizationId: $.bind(t.organizationId, 'organizationId'),
        role: 'admin',
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, owner), isNull(t.organizationId))),
);

const findOrganization = statement.maybe(
  'organizations.find',
  organizations,
  ['id'],
  ({ db, t, $, owned }) =>
    db
      .select(publicOrganizationColumns(t))
      .from(t)
      .where(and(eq(t.id, $.id), owned())),
);

/** Replaces the invite token: a service, or an admin of the organization. */
const rotateToken = statement.count(
  'organizations.rotateInviteToken',
  organizations,
  ['inviteTokenHash', 'now', 'id'],
  ({ db, t, $, actorOrganization, actorHasRole }) =>
    db
      .update(t)
      .set({
        inviteTokenHash: $.bind(t.inviteTokenHash, 'inviteTokenHash'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), eq(t.id, actorOrganization()), actorHasRole('admin'))),
);

const members = statement.many(
  'organizations.listMembers',
  users,
  ['organizationId'],
  ({ db, t, $, actorOrganization }) =>
    db
      .select(publicUserColumns(t))
      .from(t)
      .where(and(eq(t.organizationId, $.organizationId), eq(t.organizationId, actorOrganization())))
      .orderBy(asc(t.email)),
  { stale: true },
);

/** Organizations: the tenant root, with an invite token. */
export function createOrganizationsRepository(ctx: DomainContext) {
  const { actor, crypto } = ctx;
  const hashToken = (token: string) => crypto.blindIndex.hash(token, { normalize: 'none' });

  return {
    /**
     * Creates an organization and returns its invite token, shown this once (only its hash is
     * stored). A user who creates one becomes its admin, in the same transaction.
     */
    async create(input: {
      name: string;
      settings?: Record<string, unknown>;
    }): Promise<{ organization: PublicOrganization; inviteToken: string }> {
      const name = requireText(input?.name, 'name', { max: 200 });
      const settings =
        input.settings === undefined ? {} : requirePlainObject(input.settings, 'settings');
      const inviteToken = newInviteToken();
      const now = new Date();
      const id = randomUUID();
      const organization: PublicOrganization = {
        id,
        name,
        settings,
        createdAt: now,
        updatedAt: now,
      };
      const values = { id, name, settings, inviteTokenHash: hashToken(inviteToken), now };
      if (actor.kind === 'service') {
        await run(ctx, insertOrganization, values);
      } else {
        await unit(ctx, 'write', async (tx) => {
          await run(tx, insertOrganization, values);
          if ((await run(tx, joinAsAdmin, { organizationId: id, now })) === 0) {
            throw new PermissionError('The user already belongs to an organization');
          }
        });
      }
      return { organization, inviteToken };
    },

    /** The organization an invite token belongs to (signup, before anyone is a member). */
    async findByInviteToken(token: string): Promise<PublicOrganization | null> {
      requireService(actor, 'findByInviteToken');
      const hash = hashToken(requireText(token, 'inviteToken', { max: 200 }));
      return run(ctx, organizationByInvite, { hash }) as Promise<PublicOrganization | null>;
    },

    async findById(organizationId: string): Promise<PublicOrganization | null> {
      const id = requireUuid(organizationId, 'organizationId');
      return run(ctx, findOrganization, {
        id,
        organizationId: id,
      }) as Promise<PublicOrganization | null>;
    },

    /** Replaces the invite token (the old one stops working) and returns the new one, once. */
    async rotateInviteToken(organizationId: string): Promise<string> {
      const id = requireUuid(organizationId, 'organizationId');
      const inviteToken = newInviteToken();
      const changed = await run(ctx, rotateToken, {
        id,
        organizationId: id,
        inviteTokenHash: hashToken(inviteToken),
        now: new Date(),
      });
      if (changed === 0) {
        await found('organization', run(ctx, findOrganization, { id, organizationId: id }));
        throw new PermissionError("Only the organization's admins may rotate its invite token");
      }
      return inviteToken;
    },

    /** The organization's members, by email. Members of other organizations see nothing. */
    async listMembers(organizationId: string): Promise<PublicUser[]> {
      const id = requireUuid(organizationId, 'organizationId');
      return run(ctx, members, { organizationId: id }) as Promise<PublicUser[]>;
    },
  };
}

export type OrganizationsRepository = ReturnType<typeof createOrganizationsRepository>;
