/**
 * The whole platform as a deployment runs it: the schema pushed from `drizzle/` by a migration
 * owner, the repositories used through `createDb` (on Postgres as the application role, every
 * policy, trigger and guard in force), and raw SQL as that role where an attacker or a forgetful
 * query would reach. Both dialects run the same suite.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { connect, type Database, type Dialect, type Executor } from '@exora/core';
import { type Pooler, providePooler } from '@exora/core/testing';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, type ExoraDb, type PublicUser } from '@exora/db';
import { agentTemplateReferenceRows } from '@exora/db/seed';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultMigrationsDir } from '../../src/files.ts';
import { push } from '../../src/push.ts';
import { ensureAppRole } from '../../src/roles.ts';
import { seed } from '../../src/seed.ts';
import { loadSource } from '../../src/source.ts';
import { pgAdmin, pgUrl, tempDir, uniqueName } from '../helpers.ts';
import { rawIsolationWalk } from './raw-walk.ts';

const PASSWORD = 'test-only-password';
/** Operations of the random-walk isolation test per run (CI runs them all). */
const OPERATIONS = Number(process.env.ISOLATION_OPERATIONS ?? 10_000);
/** An Argon2id hash of OLD_PARAMS_PASSWORD with parameters below today's (t=1, 4 MiB). */
const OLD_PARAMS_HASH =
  '$argon2id$v=19$m=4096,t=1,p=1$4c1XBb0q2Jmpok38Z5E+sw$l58ALEyPFnUz4v2pXLDghnTgguFbi9gBtiN9qcFUxck';
const OLD_PARAMS_PASSWORD = 'old-params-password';
/** Operations per fast-check run (an audit of every tenant follows each run). */
const WALK = 400;

export interface Platform {
  db: ExoraDb;
  /** Raw SQL as the application role (Postgres), without any repository. */
  app: Database | undefined;
  /** The application role's URL (Postgres). */
  appUrl: string | undefined;
  /** The database file (SQLite). */
  sqliteFile: string | undefined;
  /** The transaction-mode PgBouncer `db` and `app` go through, when asked for (Postgres). */
  pooler: Pooler | undefined;
  dispose(): Promise<void>;
}

/**
 * Raw SQL as a service, as a maintenance job would send it: one transaction with the service
 * setting on (row-level security lets it see every row on Postgres).
 */
export function asServiceTx<R>(db: ExoraDb, fn: (tx: Executor) => Promise<R>): Promise<R> {
  return db.database.transaction(async (tx) => {
    await tx.setLocal({ 'app.service': 'on' });
    return fn(tx);
  });
}

export interface PlatformOptions {
  /**
   * Postgres: the application role's connections (`db`, `app`) through a transaction-mode
   * PgBouncer with this many server connections (`?pooler=transaction` in their URL); the
   * schema and the roles are set up directly.
   */
  poolerSize?: number;
  /** The harness's own PgBouncer even when TEST_POOLER_URL is set (a pool of known size). */
  ownPooler?: boolean;
}

export async function platform(dialect: Dialect, options: PlatformOptions = {}): Promise<Platform> {
  const crypto = createTestCrypto();
  if (dialect === 'sqlite') {
    const dir = tempDir('exora-platform-');
    const file = join(dir, 'platform.db');
    const owner = connect(file);
    await push(owner, defaultMigrationsDir(), await loadSource());
    await owner.close();
    const db = createDb({ url: file, crypto, env: {} });
    return {
      db,
      app: undefined,
      appUrl: undefined,
      sqliteFile: file,
      pooler: undefined,
      async dispose() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const admin = pgAdmin();
  const database = uniqueName('exora_t_platform');
  const owner = uniqueName('exora_owner');
  const role = uniqueName('exora_app');
  await admin.unsafe(`create role ${owner} login nosuperuser nocreaterole password '${PASSWORD}'`);
  await admin.unsafe(`create database ${database} owner ${owner}`);
  // A throwaway database: commits need not wait for the disk (what is tested is unchanged).
  await admin.unsafe(`alter database ${database} set synchronous_commit = off`);
  const asOwner = connect(pgUrl(database, owner, PASSWORD));
  await push(asOwner, defaultMigrationsDir(), await loadSource());
  await asOwner.close();
  const asAdmin = connect(pgUrl(database));
  await ensureAppRole(asAdmin, { appRole: role, password: PASSWORD });
  await asAdmin.close();
  const pooler =
    options.poolerSize === undefined
      ? undefined
      : await providePooler(inject('pgAdminUrl'), {
          poolSize: options.poolerSize,
          env: options.ownPooler ? { ...process.env, TEST_POOLER_URL: '' } : process.env,
        });
  const direct = pgUrl(database, role, PASSWORD);
  const url = pooler ? pooler.via(direct) : direct;
  const db = createDb({ url, crypto, env: {} });
  const app = connect(url);
  return {
    db,
    app,
    appUrl: url,
    sqliteFile: undefined,
    pooler,
    async dispose() {
      await Promise.all([db.close(), app.close()]);
      await pooler?.stop();
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.unsafe(`drop role if exists ${role}`);
      await admin.unsafe(`drop role if exists ${owner}`);
      await admin.end();
    },
  };
}

interface Tenant {
  organizationId: string;
  admin: PublicUser;
  member: PublicUser;
}

async function tenant(db: ExoraDb, label: string): Promise<Tenant> {
  const signup = db.asService('signup');
  const admin = await signup.users.create({ email: `${label}-admin@example.test` });
  const { organization, inviteToken } = await db
    .forUser(admin.id)
    .organizations.create({ name: label });
  const member = await signup.users.create({ email: `${label}-member@example.test`, inviteToken });
  return { organizationId: organization.id, admin, member };
}

/** Everything a thrown value exposes: message, stack, own properties, causes, inspection. */
function exposed(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 10; depth++) {
    parts.push(inspect(e, { depth: 10, showHidden: true }));
    if (e instanceof Error) parts.push(e.message, e.stack ?? '');
    if (typeof e === 'object') {
      for (const key of Object.getOwnPropertyNames(e)) {
        try {
          parts.push(key, JSON.stringify((e as Record<string, unknown>)[key]) ?? '');
        } catch {
          parts.push(key);
        }
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function caught(promise: Promise<unknown>, what = 'the call'): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error(`expected a failure of ${what}`);
}

export function platformSuite(dialect: Dialect) {
  describe(`the platform through createDb (${dialect})`, () => {
    let p: Platform;
    let tenants: Tenant[];
    beforeAll(async () => {
      p = await platform(dialect);
      tenants = [];
      for (const label of ['acme', 'globex', 'initech']) tenants.push(await tenant(p.db, label));
    });
    afterAll(async () => {
      await p?.dispose();
    });

    it('keeps every tenant to its own rows over thousands of random operations', async () => {
      const { db } = p;
      const users = tenants.flatMap((t) => [
        { ...t.admin, tenant: t, isAdmin: true },
        { ...t.member, tenant: t, isAdmin: false },
      ]);
      type Walker = (typeof users)[number];
      /** What each user owns, as the model says it must be. */
      const model = new Map(
        users.map((u) => [
          u.id,
          {
            grants: new Map<string, string>(),
            bio: undefined as string | undefined,
            keys: new Map<string, string>(), // api key id -> plaintext
            steps: new Set<string>(),
          },
        ]),
      );
      const subdomains = new Map<string, string>(); // config id -> organization id
      let operations = 0;
      let labels = 0;

      const provider = fc.constantFrom('google', 'github', 'slack');
      const op = fc.oneof(
        fc.record({
          kind: fc.constant('save' as const),
          provider,
          token: fc.string({ maxLength: 12 }),
        }),
        fc.record({ kind: fc.constant('revoke' as const), provider }),
        fc.record({ kind: fc.constant('read' as const), provider, list: fc.boolean() }),
        fc.record({ kind: fc.constant('bio' as const), bio: fc.string({ maxLength: 20 }) }),
        fc.record({ kind: fc.constant('key' as const) }),
        fc.record({ kind: fc.constant('reveal' as const), victim: fc.nat() }),
        fc.record({ kind: fc.constant('step' as const), step: fc.nat({ max: 40 }) }),
        fc.record({ kind: fc.constant('peek' as const), victim: fc.nat(), probe: fc.nat() }),
        fc.record({ kind: fc.constant('subdomain' as const), n: fc.nat() }),
        fc.record({ kind: fc.constant('toggle' as const), n: fc.nat() }),
        fc.record({ kind: fc.constant('claim' as const), victim: fc.nat() }),
      );
      type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;
      const code = (e: unknown) => (e as { code?: string }).code;

      /** One operation by `me`, checked against the model as it goes. */
      const perform = async (me: Walker, op: Op) => {
        operations++;
        const repos = db.forUser(me.id, me.tenant.organizationId);
        const mine = model.get(me.id)!;
        const others = users.filter((u) => u.tenant !== me.tenant);
        switch (op.kind) {
          case 'save': {
            const token = `tok-${op.token}-x`;
            await repos.oauthTokens.save({ provider: op.provider, accessToken: token });
            mine.grants.set(op.provider, token);
            break;
          }
          case 'revoke':
            expect(await repos.oauthTokens.revoke(op.provider)).toBe(mine.grants.has(op.provider));
            mine.grants.delete(op.provider);
            break;
          case 'read': {
            if (op.list) {
              const listed = (await repos.oauthTokens.list()).filter((g) => !g.revokedAt);
              expect(listed.every((g) => g.userId === me.id)).toBe(true);
              expect(listed.map((g) => g.provider).sort()).toEqual([...mine.grants.keys()].sort());
              break;
            }
            const grant = await repos.oauthTokens.getDecrypted(op.provider);
            expect(grant?.accessToken ?? null).toBe(mine.grants.get(op.provider) ?? null);
            if (grant) expect(grant.userId).toBe(me.id);
            break;
          }
          case 'bio': {
            const bio = `bio ${op.bio}.`;
            expect((await repos.userProfiles.upsert({ bio })).userId).toBe(me.id);
            mine.bio = bio;
            break;
          }
          case 'key': {
            const { apiKey, plaintext } = await repos.apiKeys.create({
              name: `key ${operations}`,
              provider: 'openai',
            });
            expect(apiKey.userId).toBe(me.id);
            mine.keys.set(apiKey.id, plaintext);
            break;
          }
          case 'reveal': {
            // Another user's key (any tenant, same one included) is not there for me; mine is.
            const victim = users.filter((u) => u.id !== me.id)[op.victim % (users.length - 1)]!;
            const theirs = [...model.get(victim.id)!.keys.keys()];
            if (theirs.length > 0) {
              const id = theirs[op.victim % theirs.length]!;
              expect(await repos.apiKeys.reveal(id).catch(code)).toBe('NOT_FOUND');
            }
            const own = [...mine.keys];
            if (own.length > 0) {
              const [id, plaintext] = own[op.victim % own.length]!;
              expect(await repos.apiKeys.reveal(id)).toBe(plaintext);
            }
            break;
          }
          case 'step': {
            const step = `step-${op.step}`;
            const progress = await repos.setupProgress.completeStep({ step });
            mine.steps.add(step);
            expect(progress.userId).toBe(me.id);
            expect([...progress.completedSteps].sort()).toEqual([...mine.steps].sort());
            break;
          }
          case 'peek': {
            // Another tenant's user, organization, members or subdomains: nothing. Claiming
            // membership of its organization is refused.
            const victim = others[op.victim % others.length]!;
            const org = victim.tenant.organizationId;
            const probes = [
              async () => expect(await repos.users.findById(victim.id)).toBeNull(),
              async () => expect(await repos.users.findByEmail(victim.email)).toBeNull(),
              async () => expect(await repos.organizations.findById(org)).toBeNull(),
              async () => expect(await repos.organizations.listMembers(org)).toEqual([]),
              async () => {
                const listed = await repos.subdomainConfigs.listForOrganization();
                expect(listed.every((c) => c.organizationId === me.tenant.organizationId)).toBe(
                  true,
                );
              },
              async () =>
                expect(await db.forUser(me.id, org).userProfiles.get().catch(code)).toBe(
                  'PERMISSION_DENIED',
                ),
            ];
            await probes[op.probe % probes.length]!();
            break;
          }
          case 'subdomain': {
            const label = `t${++labels}-${op.n % 1000}`;
            const outcome = await repos.subdomainConfigs
              .create({ subdomain: label })
              .then((config) => {
                expect(config.organizationId).toBe(me.tenant.organizationId);
                subdomains.set(config.id, me.tenant.organizationId);
                return 'ok';
              }, code);
            expect(outcome).toBe(me.isAdmin ? 'ok' : 'PERMISSION_DENIED');
            break;
          }
          case 'toggle': {
            const ids = [...subdomains.keys()];
            if (ids.length === 0) break;
            const id = ids[op.n % ids.length]!;
            const owner = subdomains.get(id);
            const outcome = await repos.subdomainConfigs
              .setActive(id, op.n % 2 === 0)
              .then((config) => {
                expect(config.organizationId).toBe(me.tenant.organizationId);
                return 'ok';
              }, code);
            if (owner !== me.tenant.organizationId) expect(outcome).toBe('NOT_FOUND');
            else expect(outcome).toBe(me.isAdmin ? 'ok' : 'PERMISSION_DENIED');
            break;
          }
          case 'claim': {
            // Acting on another user's grant by naming them: refused.
            const victim = users.filter((u) => u.id !== me.id)[op.victim % (users.length - 1)]!;
            expect(await repos.oauthTokens.find('google', victim.id).catch(code)).toBe(
              'PERMISSION_DENIED',
            );
            break;
          }
        }
      };

      /** Every user's rows are what that user wrote, as a service sees them. */
      const audit = async () => {
        const service = db.asService('isolation check');
        await Promise.all(
          users.map(async (u) => {
            const m = model.get(u.id)!;
            const live = (await service.oauthTokens.list(u.id)).filter((g) => !g.revokedAt);
            expect(live.map((g) => g.provider).sort()).toEqual([...m.grants.keys()].sort());
            expect((await service.userProfiles.get(u.id))?.bio ?? undefined).toBe(m.bio);
            const keys = await service.apiKeys.listMasked(u.id);
            expect(keys.map((k) => k.id).sort()).toEqual([...m.keys.keys()].sort());
            const progress = await service.setupProgress.get(u.id);
            expect([...(progress?.completedSteps ?? [])].sort()).toEqual([...m.steps].sort());
          }),
        );
        for (const t of tenants) {
          const configs = await service.subdomainConfigs.listForOrganization(t.organizationId);
          const expected = [...subdomains].filter(([, org]) => org === t.organizationId);
          expect(configs.map((c) => c.id).sort()).toEqual(expected.map(([id]) => id).sort());
        }
      };

      const started = performance.now();
      const cpu = process.cpuUsage();
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ actor: fc.nat({ max: users.length - 1 }), op }), {
            minLength: WALK,
            maxLength: WALK,
          }),
          async (steps) => {
            // The six users act at once, each in order: tenants interleave on the pool.
            await Promise.all(
              users.map(async (me, i) => {
                for (const s of steps) if (s.actor === i) await perform(me, s.op);
              }),
            );
            await audit();
          },
        ),
        { numRuns: Math.ceil(OPERATIONS / WALK), seed: 20261123, endOnFailure: true },
      );
      expect(operations).toBeGreaterThanOrEqual(OPERATIONS);
      console.info(
        `[isolation] ${dialect}: ${operations} operations in ${Math.round(performance.now() - started)} ms (test process CPU ${Math.round(cpuMs(process.cpuUsage(cpu)))} ms)`,
      );
    }, 300_000);

    it('the repositories refuse what the guard refuses: own role, other organizations (both dialects)', async () => {
      const { db } = p;
      const [a, b] = tenants;
      const asMember = db.forUser(a!.member.id);
      const asAdmin = db.forUser(a!.admin.id);
      const refused = (call: Promise<unknown>) =>
        call.then(
          () => 'ok',
          (e: { code?: string }) => e.code,
        );
      // Nobody changes their own role: not a member raising it, not an admin lowering it.
      expect(await refused(asMember.users.setRole(a!.member.id, 'admin'))).toBe(
        'PERMISSION_DENIED',
      );
      expect(await refused(asAdmin.users.setRole(a!.admin.id, 'regular'))).toBe(
        'PERMISSION_DENIED',
      );
      // A member changes no one's role; an admin none in another organization.
      expect(await refused(asMember.users.setRole(a!.admin.id, 'regular'))).toBe(
        'PERMISSION_DENIED',
      );
      expect(await refused(asAdmin.users.setRole(b!.member.id, 'admin'))).toBe('NOT_FOUND');
      // No one moves to another organization: a second organization of one's own is refused and
      // leaves nothing behind; an admin cannot add a user to another organization.
      expect(await refused(asMember.organizations.create({ name: 'escape' }))).toBe(
        'PERMISSION_DENIED',
      );
      expect(
        await refused(
          asAdmin.users.create({
            email: 'planted@example.test',
            organizationId: b!.organizationId,
          }),
        ),
      ).toBe('PERMISSION_DENIED');
      const service = db.asService('guard check');
      expect(await service.users.findByEmail('planted@example.test')).toBeNull();
      for (const u of [a!.admin, a!.member]) {
        expect(await service.users.findById(u.id)).toMatchObject({
          organizationId: a!.organizationId,
          role: u.id === a!.admin.id ? 'admin' : 'regular',
        });
      }
      expect(
        (await service.organizations.listMembers(b!.organizationId)).map((u) => u.id).sort(),
      ).toEqual([b!.admin.id, b!.member.id].sort());
    });

    // Postgres only: SQLite has no roles or sessions to attack this way.
    if (dialect === 'postgres') {
      it('raw SQL as the application role, acting as a user, reaches only that user and organization', async () => {
        const app = p.app!;
        const [a, b] = tenants;
        const asUser = <R>(user: PublicUser, fn: (tx: Database) => Promise<R>) =>
          app.transaction(async (tx) => {
            await tx.execute(sql`select exora_set_actor(${user.id}, null, false)`);
            return fn(tx as Database);
          });
        await p.db.forUser(b!.member.id).oauthTokens.save({ provider: 'raw', accessToken: 'b' });
        await asUser(a!.member, async (tx) => {
          const tokens = await tx.execute<{ user_id: string }>(
            sql`select user_id from oauth_tokens`,
          );
          expect(tokens.every((r) => r.user_id === a!.member.id)).toBe(true);
          const seen = await tx.execute<{ organization_id: string }>(
            sql`select organization_id from users`,
          );
          expect(seen.every((r) => r.organization_id === a!.organizationId)).toBe(true);
          expect(await tx.execute(sql`select * from sessions`)).toEqual([]);
          const changed = await tx.execute<{ id: string }>(
            sql`update oauth_tokens set scopes = '{}' where user_id = ${b!.member.id} returning id`,
          );
          expect(changed).toEqual([]);
          const removed = await tx.execute<{ id: string }>(
            sql`delete from user_profiles where user_id <> ${a!.member.id} returning id`,
          );
          expect(removed).toEqual([]);
        });
        // Writing into another tenant is refused by the policies' WITH CHECK.
        const insert = asUser(a!.admin, (tx) =>
          tx.execute(
            sql`insert into subdomain_configs (organization_id, subdomain) values (${b!.organizationId}, 'stolen')`,
          ),
        );
        await expect(insert).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      });

      it('raw SQL as the application role: thousands of random reads and writes on every tenant-owned table stay in the tenant', async () => {
        const actors = tenants.flatMap((t) => [
          { id: t.admin.id, organizationId: t.organizationId, isAdmin: true },
          { id: t.member.id, organizationId: t.organizationId, isAdmin: false },
        ]);
        const cpu = process.cpuUsage();
        const result = await rawIsolationWalk(p.appUrl!, actors, OPERATIONS, 20261124);
        expect(result.operations).toBeGreaterThanOrEqual(OPERATIONS);
        console.info(
          `[isolation] postgres raw SQL: ${result.operations} operations on ${result.tables} tables in ${result.ms} ms, ${result.deadlocks} deadlocks retried (test process CPU ${Math.round(cpuMs(process.cpuUsage(cpu)))} ms)`,
        );
      }, 300_000);

      it('a user-context transaction cannot raise its own role or move between organizations', async () => {
        const app = p.app!;
        const [a, b] = tenants;
        const asUser = (user: PublicUser, statement: ReturnType<typeof sql>) =>
          app.transaction(async (tx) => {
            await tx.execute(sql`select exora_set_actor(${user.id}, null, false)`);
            return tx.execute(statement);
          });
        await expect(
          asUser(a!.member, sql`update users set role = 'admin' where id = ${a!.member.id}`),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        await expect(
          asUser(
            a!.member,
            sql`update users set organization_id = ${b!.organizationId} where id = ${a!.member.id}`,
          ),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        // An admin cannot promote themselves either, nor move a member out.
        await expect(
          asUser(a!.admin, sql`update users set organization_id = null where id = ${a!.member.id}`),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        // What the repositories do still works: an admin changes a member's role, and back.
        const asAdmin = p.db.forUser(a!.admin.id, a!.organizationId);
        expect((await asAdmin.users.setRole(a!.member.id, 'admin')).role).toBe('admin');
        expect((await asAdmin.users.setRole(a!.member.id, 'regular')).role).toBe('regular');
        // And a new user still creates an organization and becomes its admin.
        const solo = await p.db.asService('signup').users.create({ email: 'solo@example.test' });
        const created = await p.db.forUser(solo.id).organizations.create({ name: 'Solo' });
        const me = await p.db.forUser(solo.id).users.findById(solo.id);
        expect(me).toMatchObject({ organizationId: created.organization.id, role: 'admin' });
        // A user who has one cannot create a second and move into it.
        await expect(
          app.transaction(async (tx) => {
            await tx.execute(sql`select exora_set_actor(${a!.member.id}, null, false)`);
            const [org] = await tx.execute<{ id: string }>(
              sql`insert into organizations (name) values ('escape') returning id`,
            );
            await tx.execute(
              sql`update users set organization_id = ${org!.id}, role = 'admin' where id = ${a!.member.id}`,
            );
          }),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      });
    }

    it('no input value reaches an error, its cause chain or its inspection', async () => {
      const { db } = p;
      const secrets = {
        password: 'hunter2-Secret-Password',
        email: 'victim-secret@example.test',
        token: 'ya29.SECRET-ACCESS-TOKEN',
        apiKey: 'exo_SECRETKEY0123456789abcdef',
      };
      const signup = db.asService('signup');
      const victim = await signup.users.create({
        email: secrets.email,
        password: secrets.password,
      });
      const errors: unknown[] = [];
      // Unique violation (the email), with a password alongside.
      errors.push(
        await caught(signup.users.create({ email: secrets.email, password: secrets.password })),
      );
      // Foreign key: a grant for a user that does not exist.
      errors.push(
        await caught(
          db
            .asService('import')
            .oauthTokens.save({ provider: 'x', accessToken: secrets.token }, crypto.randomUUID()),
        ),
      );
      // Invalid input: NUL characters and unpaired surrogates, refused before any SQL.
      errors.push(
        await caught(
          signup.users.create({ email: `${secrets.email}\u0000`, password: secrets.password }),
        ),
      );
      errors.push(
        await caught(
          db
            .forUser(victim.id)
            .oauthTokens.save({ provider: 'x', accessToken: `${secrets.token}\ud800` }),
        ),
      );
      errors.push(
        await caught(
          db.forUser(victim.id).oauthTokens.save({
            provider: 'x',
            accessToken: secrets.token,
            expiresAt: new Date('+010000-01-01T00:00:00Z'),
          }),
        ),
      );
      // Duplicate API key.
      const keys = db.forUser(victim.id).apiKeys;
      await keys.create({ name: 'one', provider: 'openai', key: secrets.apiKey });
      errors.push(
        await caught(keys.create({ name: 'two', provider: 'openai', key: secrets.apiKey })),
      );
      // Raw SQL through the core handle: check, not-null, missing table, bad data.
      const raw = db.database;
      errors.push(
        await caught(
          raw.execute(
            sql`insert into users (email, role) values (${secrets.email}, ${secrets.password})`,
          ),
        ),
      );
      errors.push(
        await caught(
          raw.execute(
            sql`insert into users (email, password_hash) values (null, ${secrets.password})`,
          ),
        ),
      );
      errors.push(
        await caught(raw.execute(sql`select * from no_such_table where x = ${secrets.token}`)),
      );
      // Data the database cannot read: not a number (Postgres), not JSON (SQLite).
      errors.push(
        await caught(
          raw.execute(
            dialect === 'postgres'
              ? sql`select cast(${`${secrets.token}-not-a-number`} as integer) + 1 as n`
              : sql`select json_extract(${`{${secrets.token}`}, '$.a') as n`,
          ),
        ),
      );
      if (dialect === 'postgres') {
        errors.push(await caught(raw.execute(sql`select ${`${secrets.token}\u0000`}::text as t`)));
        errors.push(
          await caught(
            raw.execute(sql`select * from __exora_migrations where name = ${secrets.token}`),
          ),
        );
      }
      // What is stored for those inputs (the Argon2id hash, a token's and a key's ciphertext and
      // blind index), read as a service, must not show either; then errors carrying them.
      const asService = <R>(fn: (tx: Database) => Promise<R>) =>
        raw.transaction(async (tx) => {
          if (dialect === 'postgres') await tx.setLocal({ 'app.service': 'on' });
          return fn(tx as Database);
        });
      await db
        .forUser(victim.id)
        .oauthTokens.save({ provider: 'stored', accessToken: secrets.token });
      const stored = await asService(async (tx) => {
        const [u] = await tx.execute<{ h: string }>(
          sql`select password_hash as h from users where id = ${victim.id}`,
        );
        const [t] = await tx.execute<{ c: string }>(
          sql`select access_token as c from oauth_tokens where user_id = ${victim.id} and provider = 'stored'`,
        );
        const [k] = await tx.execute<{ c: string; h: string }>(
          sql`select encrypted_key as c, key_hash as h from api_keys where user_id = ${victim.id}`,
        );
        return { passwordHash: u!.h, tokenCiphertext: t!.c, keyCiphertext: k!.c, keyHash: k!.h };
      });
      const all: Record<string, string> = { ...secrets, ...stored };
      expect(Object.values(stored).every((v) => typeof v === 'string' && v.length > 20)).toBe(true);
      // Unique (the email, with the stored hash), foreign key (a ciphertext for no user), check
      // (a role that is a hash) and not-null violations, as a service so the constraint decides.
      errors.push(
        await caught(
          asService((tx) =>
            tx.execute(
              sql`insert into users (email, password_hash) values (${secrets.email}, ${stored.passwordHash})`,
            ),
          ),
          'unique',
        ),
        await caught(
          asService((tx) =>
            tx.execute(
              sql`insert into oauth_tokens (user_id, provider, access_token) values (${crypto.randomUUID()}, ${secrets.token}, ${stored.tokenCiphertext})`,
            ),
          ),
          'foreign key',
        ),
        await caught(
          asService((tx) =>
            tx.execute(
              sql`insert into users (email, role) values (${`x${secrets.email}`}, ${stored.passwordHash})`,
            ),
          ),
          'check',
        ),
        await caught(
          asService((tx) =>
            tx.execute(
              sql`insert into api_keys (user_id, name, provider, encrypted_key, key_hash, masked_key) values (${victim.id}, ${secrets.apiKey}, 'openai', ${stored.keyCiphertext}, ${stored.keyHash}, null)`,
            ),
          ),
          'not null',
        ),
      );
      if (dialect === 'postgres') {
        const database = new URL(p.appUrl!).pathname.slice(1);
        // Permission denied: a user's transaction writing a row for someone else (row-level
        // security's WITH CHECK) with the secrets as values.
        errors.push(
          await caught(
            raw.transaction(async (tx) => {
              await tx.execute(sql`select exora_set_actor(${victim.id}, null, false)`);
              await tx.execute(
                sql`insert into oauth_tokens (user_id, provider, access_token) values (${tenants[0]!.admin.id}, ${secrets.password}, ${stored.tokenCiphertext})`,
              );
            }),
            'permission',
          ),
        );
        // Invalid data: an out-of-range date, and JSON with a lone surrogate escape.
        errors.push(
          await caught(
            raw.execute(sql`select ${`${secrets.token} 2026-13-45`}::timestamptz as d`),
            'bad date',
          ),
          await caught(
            raw.execute(sql`select ${`{"k":"${secrets.apiKey}\\ud800"}`}::jsonb as j`),
            'bad json',
          ),
        );
        // A lost connection: the backend running a statement with the secrets is terminated.
        const admin = pgAdmin(database);
        const running = caught(
          raw.execute(
            sql`select pg_sleep(30), ${secrets.password}::text, ${stored.passwordHash}::text`,
          ),
        );
        let killed = 0;
        for (let i = 0; i < 200 && killed === 0; i++) {
          await new Promise((r) => setTimeout(r, 25));
          killed = (
            await admin`select pg_terminate_backend(pid) from pg_stat_activity
              where datname = ${database} and query like '%pg_sleep(30)%' and pid <> pg_backend_pid()`
          ).length;
        }
        await admin.end();
        expect(killed).toBe(1);
        const lost = await running;
        expect((lost as { code?: string }).code).toBe('CONNECTION_FAILED');
        errors.push(lost);
        // The next call works.
        expect(await db.forUser(victim.id).oauthTokens.getDecrypted('stored')).toMatchObject({
          accessToken: secrets.token,
        });
      } else {
        // Busy: another connection holds the write lock past the deadline.
        const other = new BetterSqlite3(p.sqliteFile!);
        const impatient = connect(p.sqliteFile!, { sqlite: { busyTimeoutMs: 200 } });
        other.exec('begin immediate');
        try {
          const busy = await caught(
            impatient.execute(
              sql`insert into users (email, password_hash) values (${`busy-${secrets.email}`}, ${stored.passwordHash})`,
            ),
          );
          expect((busy as { code?: string }).code).toBe('DATABASE_BUSY');
          errors.push(busy);
        } finally {
          other.exec('rollback');
          other.close();
          await impatient.close();
        }
      }
      expect(errors.length).toBeGreaterThanOrEqual(dialect === 'postgres' ? 20 : 15);
      for (const error of errors) {
        expect(error).toBeInstanceOf(Error);
        expect((error as { code?: unknown }).code).toEqual(expect.any(String));
        const text = exposed(error);
        for (const secret of Object.values(all)) expect(text).not.toContain(secret);
        expect((error as { cause?: unknown }).cause).toBeUndefined();
      }
    });

    it('refuses bad inputs the same way on both dialects, before any SQL', async () => {
      const { db } = p;
      const signup = db.asService('signup');
      const user = await signup.users.create({ email: 'inputs@example.test' });
      const me = db.forUser(user.id);
      await me.oauthTokens.save({ provider: 'google', accessToken: 'a' });
      // An upper-case UUID names the same user.
      expect(
        (await db.forUser(user.id.toUpperCase()).oauthTokens.list()).map((g) => g.provider),
      ).toEqual(['google']);
      const refused = async (call: () => Promise<unknown>) =>
        ((await caught(call())) as { code?: string; field?: string }).code;
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const bad: [string, () => Promise<unknown>][] = [
        ['null input', () => me.oauthTokens.save(null as never)],
        ['null profile', () => me.userProfiles.upsert(null as never)],
        ['null step', () => me.setupProgress.completeStep(null as never)],
        ['null user', () => signup.users.create(null as never)],
        ['null organization', () => me.organizations.create(null as never)],
        ['BigInt in JSON', () => me.userProfiles.upsert({ preferences: { n: 10n } as never })],
        ['cycle in JSON', () => me.userProfiles.upsert({ preferences: cyclic })],
        ['NUL in JSON', () => me.userProfiles.upsert({ preferences: { a: 'x\u0000' } })],
        ['surrogate in text', () => me.userProfiles.upsert({ bio: 'x\ud800' })],
        ['NUL in text', () => me.userProfiles.upsert({ bio: 'x\u0000y' })],
        [
          'string boolean',
          () => me.subdomainConfigs.setActive(crypto.randomUUID(), 'false' as never),
        ],
        ['session date', () => db.asService('store').sessions.set('s', {}, new Date('nope'))],
        [
          'session year',
          () => db.asService('store').sessions.set('s', {}, new Date('+010000-01-01')),
        ],
        ['bad uuid', () => me.users.findById('not-a-uuid')],
      ];
      for (const [what, call] of bad) {
        expect([what, await refused(call)]).toEqual([what, 'VALIDATION_FAILED']);
      }
      // Nothing was written by any of them.
      expect(await me.userProfiles.get()).toBeNull();
      expect(await me.setupProgress.get()).toBeNull();
    });

    it('a row moved to another user does not decrypt for them (the owner is bound)', async () => {
      const { db } = p;
      const signup = db.asService('signup');
      const a = await signup.users.create({ email: 'owner-a@example.test' });
      const b = await signup.users.create({ email: 'owner-b@example.test' });
      await db.forUser(a.id).oauthTokens.save({ provider: 'moved', accessToken: 'secret of a' });
      // A raw, service-level reassignment (what a bug or an attacker with SQL could do).
      await db.database.transaction(async (tx) => {
        await tx.setLocal({ 'app.service': 'on' });
        await tx.execute(sql`update oauth_tokens set user_id = ${b.id} where user_id = ${a.id}`);
      });
      await expect(db.forUser(b.id).oauthTokens.getDecrypted('moved')).rejects.toMatchObject({
        name: 'DecryptionError',
      });
      expect(await db.forUser(a.id).oauthTokens.getDecrypted('moved')).toBeNull();
    });

    it('seed 000: the six agent templates once, the statistics and dashboard triggers the migrations installed', async () => {
      const { db } = p;
      const templates = await db.database.execute<{ id: string; slug: string }>(
        sql`select id, slug from agent_templates order by slug`,
      );
      expect(templates.map((t) => [t.slug, t.id])).toEqual(
        agentTemplateReferenceRows.rows
          .map((r) => [r.slug, r.id])
          .sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );
      // Seeding again (db:seed after db:push) inserts nothing.
      const again = await seed(db.database, await loadSource());
      expect(again.tables).toContainEqual({ table: 'agent_templates', rows: 6, inserted: 0 });
      expect(again.inserted).toBe(0);

      const user = await db.asService('signup').users.create({ email: 'stats@example.test' });
      await db.database.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': user.id });
        const [agent] = await tx.execute<{ id: string }>(
          sql`insert into user_agents (user_id, template_id, name) values (${user.id}, ${agentTemplateReferenceRows.rows[0]!.id}, 'analyst') returning id`,
        );
        await tx.execute(
          sql`insert into agent_activities (agent_id, user_id, activity_type, status) values (${agent!.id}, ${user.id}, 'report', 'failure')`,
        );
        await tx.execute(sql`insert into dashboard_data (user_id) values (${user.id})`);
      });
      const stats = await db.database.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': user.id });
        return tx.execute<Record<string, unknown>>(
          sql`select total_agents, active_agents, total_activities, failed_activities from user_statistics where user_id = ${user.id}`,
        );
      });
      expect(stats.map((r) => Object.values(r).map(Number))).toEqual([[1, 1, 1, 1]]);

      // dashboard_data's updated_at follows a raw update that does not set it.
      const touched = await db.database.transaction(async (tx) => {
        await tx.setLocal({ 'app.user_id': user.id });
        await tx.execute(
          sql`update dashboard_data set updated_at = ${dialect === 'postgres' ? sql`'2000-01-01T00:00:00Z'` : sql`946684800000`} where user_id = ${user.id}`,
        );
        await tx.execute(
          sql`update dashboard_data set settings = '{"compact":true}' where user_id = ${user.id}`,
        );
        const after = await tx.execute<{ u: unknown }>(
          sql`select updated_at as u from dashboard_data where user_id = ${user.id}`,
        );
        return { after: after[0]!.u };
      });
      expect(new Date(touched.after as string | number).getFullYear()).toBeGreaterThan(2000);
    });

    it('read-modify-writes keep every concurrent change', async () => {
      const { db } = p;
      const user = await db.asService('signup').users.create({ email: 'busy@example.test' });
      const me = db.forUser(user.id);
      const steps = Array.from({ length: 20 }, (_, i) => `step-${i}`);
      await Promise.all(
        steps.map((step, i) =>
          me.setupProgress.completeStep({ step, nextStep: 'next', data: { [step]: i } }),
        ),
      );
      const progress = await me.setupProgress.get();
      expect([...(progress?.completedSteps ?? [])].sort()).toEqual([...steps].sort());
      expect(Object.keys(progress?.data ?? {}).sort()).toEqual([...steps].sort());
      // Profile fields written by concurrent upserts are all kept.
      await Promise.all([
        me.userProfiles.upsert({ displayName: 'Ada' }),
        me.userProfiles.upsert({ bio: 'Founder' }),
        me.userProfiles.upsert({ avatarUrl: 'https://example.test/a.png' }),
      ]);
      expect(await me.userProfiles.get()).toMatchObject({
        displayName: 'Ada',
        bio: 'Founder',
        avatarUrl: 'https://example.test/a.png',
      });
      // Concurrent saves of one grant leave one row holding one of the values written.
      const tokens = Array.from({ length: 10 }, (_, i) => `token-${i}`);
      await Promise.all(
        tokens.map((accessToken) => me.oauthTokens.save({ provider: 'race', accessToken })),
      );
      expect((await me.oauthTokens.list()).filter((g) => g.provider === 'race')).toHaveLength(1);
      expect(tokens).toContain((await me.oauthTokens.getDecrypted('race'))?.accessToken);
    });

    it('the other read-modify-writes: one organization per creator, a login rehash never undoes a new password', async () => {
      const { db } = p;
      const service = db.asService('race check');
      const signup = db.asService('signup');
      // A user without an organization creates six at once: one wins, the rest are refused and
      // leave no organization behind.
      const founder = await signup.users.create({ email: 'founder-race@example.test' });
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          db
            .forUser(founder.id)
            .organizations.create({ name: `race ${i}` })
            .then(
              (r) => r.organization.id,
              (e: { code?: string }) => e.code,
            ),
        ),
      );
      const won = outcomes.filter((o) => o !== 'PERMISSION_DENIED');
      expect(won).toHaveLength(1);
      expect(await service.users.findById(founder.id)).toMatchObject({
        organizationId: won[0],
        role: 'admin',
      });
      const races = await db.database.transaction(async (tx) => {
        if (dialect === 'postgres') await tx.setLocal({ 'app.service': 'on' });
        return tx.execute<{ id: string }>(
          sql`select id from organizations where name like 'race %'`,
        );
      });
      expect(races.map((r) => String(r.id))).toEqual(won);

      // A login that upgrades an old Argon2id hash races a password change: the change wins
      // (the upgrade is a compare-and-set on the hash it verified).
      const user = await signup.users.create({ email: 'rehash-race@example.test' });
      const storedHash = (value?: string) =>
        db.database.transaction(async (tx) => {
          if (dialect === 'postgres') await tx.setLocal({ 'app.service': 'on' });
          if (value !== undefined) {
            await tx.execute(sql`update users set password_hash = ${value} where id = ${user.id}`);
          }
          const [row] = await tx.execute<{ h: string }>(
            sql`select password_hash as h from users where id = ${user.id}`,
          );
          return row!.h;
        });
      // Alone, a login upgrades the hash.
      expect(await storedHash(OLD_PARAMS_HASH)).toBe(OLD_PARAMS_HASH);
      expect((await service.users.authenticate(user.email, OLD_PARAMS_PASSWORD))?.id).toBe(user.id);
      expect(await storedHash()).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      for (let round = 0; round < 3; round++) {
        await storedHash(OLD_PARAMS_HASH);
        const next = `new password ${round}`;
        await Promise.all([
          ...Array.from({ length: 4 }, () =>
            service.users.authenticate(user.email, OLD_PARAMS_PASSWORD),
          ),
          db.forUser(user.id).users.setPassword(user.id, next),
        ]);
        expect((await service.users.authenticate(user.email, next))?.id).toBe(user.id);
        expect(await service.users.authenticate(user.email, OLD_PARAMS_PASSWORD)).toBeNull();
      }
    });

    it('calls made in parallel inside a transaction: all or nothing, and each caller told the truth', async () => {
      const { db } = p;
      const user = await db.asService('signup').users.create({ email: 'parallel@example.test' });
      const me = db.forUser(user.id);
      const outcomes: string[] = [];
      await expect(
        me.transaction(async (tx) => {
          await Promise.all([
            tx.oauthTokens
              .save({ provider: 'p1', accessToken: 'a' })
              .then(() => outcomes.push('p1')),
            tx.userProfiles.upsert({ bio: 'x' }).then(() => outcomes.push('bio')),
            tx.apiKeys
              .create({ name: 'same', provider: 'openai' })
              .then(() => outcomes.push('key')),
            // The database refuses this one (a duplicate name): the caller catches it...
            tx.apiKeys
              .create({ name: 'same', provider: 'openai' })
              .catch((e: { code: string }) => outcomes.push(e.code)),
            tx.oauthTokens.save({ provider: 'p3', accessToken: 'a' }).then(
              () => outcomes.push('p3'),
              (e: { code: string }) => outcomes.push(`p3 ${e.code}`),
            ),
          ]);
        }),
      ).rejects.toMatchObject({ code: 'UNIQUE_VIOLATION' });
      expect(outcomes).toContain('UNIQUE_VIOLATION');
      // ...and the transaction still fails as a whole, so nothing of it stays.
      expect(await me.oauthTokens.list()).toEqual([]);
      expect(await me.userProfiles.get()).toBeNull();
      expect(await me.apiKeys.listMasked()).toEqual([]);
      // Without a failure, everything commits.
      await me.transaction((tx) =>
        Promise.all([
          tx.oauthTokens.save({ provider: 'q1', accessToken: 'a' }),
          tx.oauthTokens.save({ provider: 'q2', accessToken: 'a' }),
          tx.userProfiles.upsert({ bio: 'y' }),
        ]),
      );
      expect((await me.oauthTokens.list()).map((g) => g.provider)).toEqual(['q1', 'q2']);
    });
  });
}
