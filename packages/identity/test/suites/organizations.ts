import { NotFoundError, PermissionError, ValidationError } from '@exora/core';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from './context.ts';
import { uniqueEmail } from './context.ts';

export function organizationsSuite(ctx: SuiteContext) {
  describe(`organizations (${ctx.dialect})`, () => {
    it('creates an organization with an invite token stored only as a keyed hash', async () => {
      const { organization, inviteToken } = await ctx
        .service()
        .organizations.create({ name: 'Hashco' });
      expect(inviteToken.length).toBeGreaterThanOrEqual(32);
      expect(organization).not.toHaveProperty('inviteTokenHash');
      const [row] = await ctx
        .db()
        .execute<{ invite_token_hash: string }>(
          sql`select invite_token_hash from organizations where id = ${organization.id}`,
        );
      expect(row?.invite_token_hash).not.toContain(inviteToken);
      expect(row?.invite_token_hash).toBe(
        ctx.crypto.blindIndex.hash(inviteToken, { normalize: 'none' }),
      );
      expect((await ctx.service().organizations.findByInviteToken(inviteToken))?.id).toBe(
        organization.id,
      );
      expect(await ctx.service().organizations.findByInviteToken('not-a-token')).toBeNull();
    });

    it('makes the creating user the admin, in the same transaction', async () => {
      const user = await ctx.service().users.create({ email: uniqueEmail('Owner') });
      const { organization } = await ctx.user(user.id).organizations.create({ name: 'Own Co' });
      const me = await ctx.user(user.id, organization.id).users.findById(user.id);
      expect(me).toMatchObject({ organizationId: organization.id, role: 'admin' });
    });

    it('leaves nothing behind when a multi-step write fails', async () => {
      const user = await ctx.service().users.create({ email: uniqueEmail('Twice') });
      await ctx.user(user.id).organizations.create({ name: 'First' });
      const count = async () =>
        Number(
          (
            await ctx
              .db()
              .execute<{ n: number }>(
                sql`select count(*) as n from organizations where name = 'Second'`,
              )
          )[0]?.n,
        );
      // The organization row is inserted, then joining it fails: the insert must roll back.
      await expect(
        ctx.user(user.id).organizations.create({ name: 'Second' }),
      ).rejects.toBeInstanceOf(PermissionError);
      expect(await count()).toBe(0);
    });

    it('rotates the invite token: the old one stops working', async () => {
      const admin = await ctx.service().users.create({ email: uniqueEmail('Rot') });
      const { organization, inviteToken } = await ctx
        .user(admin.id)
        .organizations.create({ name: 'Rotate' });
      const asAdmin = ctx.user(admin.id, organization.id);
      const next = await asAdmin.organizations.rotateInviteToken(organization.id);
      expect(next).not.toBe(inviteToken);
      expect(await ctx.service().organizations.findByInviteToken(inviteToken)).toBeNull();
      expect((await ctx.service().organizations.findByInviteToken(next))?.id).toBe(organization.id);
      const error = await ctx
        .service()
        .users.create({ email: uniqueEmail('Late'), inviteToken })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('inviteToken');
    });

    it('lists members by organization; other organizations see nothing', async () => {
      const a = await ctx.service().users.create({ email: uniqueEmail('OrgA') });
      const b = await ctx.service().users.create({ email: uniqueEmail('OrgB') });
      const orgA = await ctx.user(a.id).organizations.create({ name: 'A' });
      const orgB = await ctx.user(b.id).organizations.create({ name: 'B' });
      const joiner = await ctx
        .service()
        .users.create({ email: uniqueEmail('Join'), inviteToken: orgA.inviteToken });
      const asA = ctx.user(a.id, orgA.organization.id);
      const members = await asA.organizations.listMembers(orgA.organization.id);
      expect(members.map((m) => m.id).sort()).toEqual([a.id, joiner.id].sort());
      expect(members[0]).not.toHaveProperty('passwordHash');
      expect(await asA.organizations.listMembers(orgB.organization.id)).toEqual([]);
      expect(await asA.organizations.findById(orgB.organization.id)).toBeNull();
      // Another organization is not found, as another user's row is: its existence stays hidden.
      await expect(
        asA.organizations.rotateInviteToken(orgB.organization.id),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect((await asA.users.findById(joiner.id))?.id).toBe(joiner.id);
    });

    it('cascades an organization delete to its users, their profiles and subdomains', async () => {
      const owner = await ctx.service().users.create({ email: uniqueEmail('Casc') });
      const { organization } = await ctx.user(owner.id).organizations.create({ name: 'Gone' });
      const asOwner = ctx.user(owner.id, organization.id);
      await asOwner.userProfiles.upsert({ displayName: 'Owner' });
      await asOwner.subdomainConfigs.create({ subdomain: `gone-${Date.now()}` });
      await ctx.db().execute(sql`delete from organizations where id = ${organization.id}`);
      expect(await ctx.service().users.findById(owner.id)).toBeNull();
      const [left] = await ctx
        .db()
        .execute<{ n: number }>(
          sql`select (select count(*) from user_profiles where user_id = ${owner.id}) + (select count(*) from subdomain_configs where organization_id = ${organization.id}) as n`,
        );
      expect(Number(left?.n)).toBe(0);
    });
  });
}
