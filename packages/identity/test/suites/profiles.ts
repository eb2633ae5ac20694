import { PermissionError, UniqueViolationError, ValidationError } from '@exora/core';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from './context.ts';
import { uniqueEmail } from './context.ts';

export function profilesSuite(ctx: SuiteContext) {
  describe(`profiles, setup progress and subdomains (${ctx.dialect})`, () => {
    it('keeps a profile per user, visible to that user only', async () => {
      const a = await ctx.service().users.create({ email: uniqueEmail('PA') });
      const b = await ctx.service().users.create({ email: uniqueEmail('PB') });
      const saved = await ctx
        .user(a.id)
        .userProfiles.upsert({ displayName: 'Ada', preferences: { theme: 'dark' } });
      expect(saved).toMatchObject({
        userId: a.id,
        displayName: 'Ada',
        preferences: { theme: 'dark' },
      });
      const updated = await ctx.user(a.id).userProfiles.upsert({ bio: 'hi' });
      expect(updated).toMatchObject({ id: saved.id, displayName: 'Ada', bio: 'hi' });
      expect(await ctx.user(b.id).userProfiles.get()).toBeNull();
      // B may not name A as the subject.
      await expect(
        ctx.user(b.id).userProfiles.upsert({ displayName: 'Bob' }, a.id),
      ).rejects.toBeInstanceOf(PermissionError);
      await expect(ctx.user(b.id).setupProgress.get(a.id)).rejects.toBeInstanceOf(PermissionError);
      expect((await ctx.user(a.id).userProfiles.get())?.displayName).toBe('Ada');
      expect((await ctx.service().userProfiles.get(a.id))?.bio).toBe('hi');
      await expect(
        ctx.user(a.id).userProfiles.upsert({ preferences: [] as never }),
      ).rejects.toBeInstanceOf(ValidationError);
    });

    it('records onboarding steps and completion', async () => {
      const u = await ctx.service().users.create({ email: uniqueEmail('Setup') });
      const repo = ctx.user(u.id).setupProgress;
      expect(await repo.get()).toBeNull();
      await repo.completeStep({ step: 'welcome', nextStep: 'connect', data: { plan: 'pro' } });
      const mid = await repo.completeStep({
        step: 'connect',
        nextStep: 'done',
        data: { app: 'gmail' },
      });
      expect(mid).toMatchObject({
        currentStep: 'done',
        completedSteps: ['welcome', 'connect'],
        data: { plan: 'pro', app: 'gmail' },
        isComplete: false,
      });
      const end = await repo.completeStep({ step: 'done', nextStep: null });
      expect(end.isComplete).toBe(true);
      expect(end.completedAt).toBeInstanceOf(Date);
      const other = await ctx.service().users.create({ email: uniqueEmail('Other') });
      expect(await ctx.user(other.id).setupProgress.get()).toBeNull();
    });

    it('claims unique subdomains for an organization, admins only', async () => {
      const owner = await ctx.service().users.create({ email: uniqueEmail('Sub') });
      const { organization, inviteToken } = await ctx
        .user(owner.id)
        .organizations.create({ name: 'Sub Co' });
      const asOwner = ctx.user(owner.id, organization.id);
      const label = `acme-${Math.random().toString(36).slice(2, 8)}`;
      const config = await asOwner.subdomainConfigs.create({ subdomain: label });
      expect(config.organizationId).toBe(organization.id);
      await expect(asOwner.subdomainConfigs.create({ subdomain: label })).rejects.toBeInstanceOf(
        UniqueViolationError,
      );
      await expect(
        asOwner.subdomainConfigs.create({ subdomain: 'Bad_Label' }),
      ).rejects.toBeInstanceOf(ValidationError);
      expect((await ctx.service().subdomainConfigs.findBySubdomain(label))?.id).toBe(config.id);
      const member = await ctx.service().users.create({ email: uniqueEmail('SubM'), inviteToken });
      await expect(
        ctx.user(member.id, organization.id).subdomainConfigs.create({ subdomain: `${label}-2` }),
      ).rejects.toBeInstanceOf(PermissionError);
      await asOwner.subdomainConfigs.setActive(config.id, false);
      expect(await ctx.service().subdomainConfigs.findBySubdomain(label)).toBeNull();
      const stranger = await ctx.service().users.create({ email: uniqueEmail('Str') });
      const { organization: other } = await ctx
        .user(stranger.id)
        .organizations.create({ name: 'Other' });
      await expect(
        ctx.user(stranger.id, other.id).subdomainConfigs.setActive(config.id, true),
      ).rejects.toThrow(/not found/);
      expect(await ctx.user(stranger.id, other.id).subdomainConfigs.listForOrganization()).toEqual(
        [],
      );
    });

    it('enforces the role check constraint on raw writes', async () => {
      await expect(
        ctx
          .db()
          .execute(sql`insert into users (email, role) values (${uniqueEmail('role')}, 'owner')`),
      ).rejects.toMatchObject({
        name: 'CheckViolationError',
        constraint: 'users_role_check',
        column: 'role',
      });
    });
  });
}
