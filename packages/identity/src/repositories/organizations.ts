import { randomBytes, randomUUID } from 'node:crypto';
import {
  actAs,
  inOrganization,
  NotFoundError,
  PermissionError,
  requirePlainObject,
  requireService,
  requireText,
  requireUuid,
} from '@exora/core';
import { and, asc, eq } from 'drizzle-orm';
import type { DomainContext } from '../context.ts';
import { type Organization, organizations } from '../schema/organizations.ts';
import { users } from '../schema/users.ts';
import { type PublicUser, publicColumns } from './users.ts';

/** An organization as repositories return it: the invite token's hash stays inside. */
export type PublicOrganization = Omit<Organization, 'inviteTokenHash'>;

function newInviteToken(): string {
  return randomBytes(24).toString('base64url');
}

function publicOrganization(row: Organization): PublicOrganization {
  const { inviteTokenHash: _hidden, ...rest } = row;
  return rest;
}

/** Seed 000's organizations and seed 002's companies: the tenant root, with an invite token. */
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
      const name = requireText(input.name, 'name', { max: 200 });
      const settings =
        input.settings === undefined ? {} : requirePlainObject(input.settings, 'settings');
      const inviteToken = newInviteToken();
      // The id is chosen here so a user's transaction can name it as its organization before the
      // insert: Postgres policies check new rows against the acting organization.
      const id = randomUUID();
      const organization = await actAs(ctx.exec, actor, async (tx) => {
        if (actor.kind === 'user') await tx.setLocal({ 'app.organization_id': id });
        const o = tx.table(organizations);
        const [org] = await tx.db
          .insert(o)
          .values({ id, name, settings, inviteTokenHash: hashToken(inviteToken) })
          .returning();
        if (actor.kind === 'user') {
          const u = tx.table(users);
          const [me] = await tx.db
            .select({ organizationId: u.organizationId })
            .from(u)
            .where(eq(u.id, actor.userId));
          if (!me) throw new NotFoundError('user');
          if (me.organizationId)
            throw new PermissionError('The user already belongs to an organization');
          await tx.db
            .update(u)
            .set({ organizationId: org!.id, role: 'admin', updatedAt: new Date() })
            .where(eq(u.id, actor.userId));
        }
        return org!;
      });
      return { organization: publicOrganization(organization), inviteToken };
    },

    /** The organization an invite token belongs to (signup, before anyone is a member). */
    async findByInviteToken(token: string): Promise<PublicOrganization | null> {
      requireService(actor, 'findByInviteToken');
      const hash = hashToken(requireText(token, 'inviteToken', { max: 200 }));
      return actAs(ctx.exec, actor, async (tx) => {
        const o = tx.table(organizations);
        const [row] = await tx.db.select().from(o).where(eq(o.inviteTokenHash, hash));
        return row ? publicOrganization(row) : null;
      });
    },

    async findById(organizationId: string): Promise<PublicOrganization | null> {
      const id = requireUuid(organizationId, 'organizationId');
      return actAs(ctx.exec, actor, async (tx) => {
        const o = tx.table(organizations);
        const [row] = await tx.db
          .select()
          .from(o)
          .where(and(eq(o.id, id), inOrganization(actor, o.id)));
        return row ? publicOrganization(row) : null;
      });
    },

    /** Replaces the invite token (the old one stops working) and returns the new one, once. */
    async rotateInviteToken(organizationId: string): Promise<string> {
      const id = requireUuid(organizationId, 'organizationId');
      const inviteToken = newInviteToken();
      await actAs(ctx.exec, actor, async (tx) => {
        if (actor.kind === 'user') {
          const u = tx.table(users);
          const [me] = await tx.db
            .select({ role: u.role, organizationId: u.organizationId })
            .from(u)
            .where(eq(u.id, actor.userId));
          if (me?.organizationId !== id || me.role !== 'admin') {
            throw new PermissionError("Only the organization's admins may rotate its invite token");
          }
        }
        const o = tx.table(organizations);
        const rows = await tx.db
          .update(o)
          .set({ inviteTokenHash: hashToken(inviteToken), updatedAt: new Date() })
          .where(and(eq(o.id, id), inOrganization(actor, o.id)))
          .returning({ id: o.id });
        if (rows.length === 0) throw new NotFoundError('organization');
      });
      return inviteToken;
    },

    /** The organization's members, by email. Members of other organizations see nothing. */
    async listMembers(organizationId: string): Promise<PublicUser[]> {
      const id = requireUuid(organizationId, 'organizationId');
      return actAs(ctx.exec, actor, async (tx) => {
        const u = tx.table(users);
        const rows = await tx.db
          .select(publicColumns(u))
          .from(u)
          .where(and(eq(u.organizationId, id), inOrganization(actor, u.organizationId)))
          .orderBy(asc(u.email));
        return rows as PublicUser[];
      });
    },
  };
}

export type OrganizationsRepository = ReturnType<typeof createOrganizationsRepository>;
