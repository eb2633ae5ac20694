import { PermissionError, UniqueViolationError, ValidationError } from '@exora/core';
import { hash as argon2Hash } from '@node-rs/argon2';
import { hashSync as bcryptHash } from '@node-rs/bcrypt';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from './context.ts';
import { uniqueEmail } from './context.ts';

async function storedHash(ctx: SuiteContext, userId: string): Promise<string | null> {
  const [row] = await ctx
    .db()
    .execute<{ password_hash: string | null }>(
      sql`select password_hash from users where id = ${userId}`,
    );
  return row?.password_hash ?? null;
}

async function countUsers(ctx: SuiteContext): Promise<number> {
  const [row] = await ctx
    .db()
    .execute<{ n: number | string }>(sql`select count(*) as n from users`);
  return Number(row?.n);
}

export function usersSuite(ctx: SuiteContext) {
  describe(`users (${ctx.dialect})`, () => {
    it('creates a user with an Argon2id hash and a lower-cased email, never returning the hash', async () => {
      const email = uniqueEmail('Create');
      const user = await ctx
        .service()
        .users.create({ email, password: 'correct horse battery', name: 'Ada' });
      expect(user.email).toBe(email.toLowerCase());
      expect(user).not.toHaveProperty('passwordHash');
      expect(user.role).toBe('regular');
      const hash = await storedHash(ctx, user.id);
      expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    });

    it('keeps emails unique without regard to case, also for raw SQL writes', async () => {
      const email = uniqueEmail('Dup');
      await ctx.service().users.create({ email });
      const error = await ctx
        .service()
        .users.create({ email: email.toUpperCase() })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UniqueViolationError);
      expect((error as UniqueViolationError).constraint).toBe('users_email_lower_unique');
      await expect(
        ctx.db().execute(sql`insert into users (email) values (${email.toUpperCase()})`),
      ).rejects.toBeInstanceOf(UniqueViolationError);
      const found = await ctx.service().users.findByEmail(`  ${email.toUpperCase()} `);
      expect(found?.email).toBe(email.toLowerCase());
    });

    it('authenticates with the right password only, and records the login', async () => {
      const email = uniqueEmail('Login');
      const user = await ctx.service().users.create({ email, password: 'right password 1' });
      const users = ctx.service().users;
      expect(await users.authenticate(email, 'wrong password')).toBeNull();
      expect(await users.authenticate(uniqueEmail('nobody'), 'right password 1')).toBeNull();
      const ok = await users.authenticate(email.toUpperCase(), 'right password 1');
      expect(ok?.id).toBe(user.id);
      expect(ok?.lastLoginAt).toBeInstanceOf(Date);
      await expect(
        ctx.user(user.id).users.authenticate(email, 'right password 1'),
      ).rejects.toBeInstanceOf(PermissionError);
    });

    it("upgrades seed 002's bcrypt hash to Argon2id on a successful login", async () => {
      const email = uniqueEmail('Bcrypt');
      const user = await ctx.service().users.create({ email });
      const legacy = bcryptHash('legacy password', 4);
      await ctx.db().execute(sql`update users set password_hash = ${legacy} where id = ${user.id}`);
      expect(await ctx.service().users.authenticate(email, 'not it')).toBeNull();
      expect(await storedHash(ctx, user.id)).toBe(legacy);
      expect((await ctx.service().users.authenticate(email, 'legacy password'))?.id).toBe(user.id);
      const upgraded = await storedHash(ctx, user.id);
      expect(upgraded).toMatch(/^\$argon2id\$/);
      expect((await ctx.service().users.authenticate(email, 'legacy password'))?.id).toBe(user.id);
    });

    it('rehashes an Argon2id hash made with older, weaker parameters', async () => {
      const email = uniqueEmail('Weak');
      const user = await ctx.service().users.create({ email });
      const weak = await argon2Hash('old params pw', {
        memoryCost: 4096,
        timeCost: 1,
        parallelism: 1,
        algorithm: 2,
      });
      await ctx.db().execute(sql`update users set password_hash = ${weak} where id = ${user.id}`);
      expect((await ctx.service().users.authenticate(email, 'old params pw'))?.id).toBe(user.id);
      expect(await storedHash(ctx, user.id)).toMatch(/m=19456,t=2,p=1/);
    });

    it('validates input before any SQL, naming the field, and writes nothing', async () => {
      const before = await countUsers(ctx);
      const cases: [Record<string, unknown>, string][] = [
        [{ email: 'not-an-email' }, 'email'],
        [{ email: uniqueEmail(), password: 'short' }, 'password'],
        [{ email: uniqueEmail(), role: 'owner' }, 'role'],
        [{ email: uniqueEmail(), organizationId: 'nope' }, 'organizationId'],
        [{ email: uniqueEmail(), name: 'x'.repeat(201) }, 'name'],
      ];
      for (const [input, field] of cases) {
        const error = await ctx
          .service()
          .users.create(input as never)
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe(field);
      }
      expect(await countUsers(ctx)).toBe(before);
    });

    it('lets a user see themselves and their organization, nobody else', async () => {
      const a = await ctx.service().users.create({ email: uniqueEmail('A') });
      const b = await ctx.service().users.create({ email: uniqueEmail('B') });
      expect((await ctx.user(a.id).users.findById(a.id))?.id).toBe(a.id);
      expect(await ctx.user(a.id).users.findById(b.id)).toBeNull();
      expect(await ctx.user(a.id).users.findByEmail(b.email)).toBeNull();
      await expect(ctx.user(a.id).users.setPassword(b.id, 'a new password')).rejects.toBeInstanceOf(
        PermissionError,
      );
      await expect(ctx.user(a.id).users.setRole(b.id, 'admin')).rejects.toThrow(/not found/);
    });

    it('changes roles only for admins of the same organization', async () => {
      const founder = await ctx.service().users.create({ email: uniqueEmail('Founder') });
      const { organization, inviteToken } = await ctx
        .user(founder.id)
        .organizations.create({ name: 'Acme' });
      const member = await ctx
        .service()
        .users.create({ email: uniqueEmail('Member'), inviteToken });
      expect(member.organizationId).toBe(organization.id);
      const asMember = ctx.user(member.id, organization.id);
      await expect(asMember.users.setRole(founder.id, 'regular')).rejects.toBeInstanceOf(
        PermissionError,
      );
      const promoted = await ctx
        .user(founder.id, organization.id)
        .users.setRole(member.id, 'admin');
      expect(promoted.role).toBe('admin');
    });
  });
}
