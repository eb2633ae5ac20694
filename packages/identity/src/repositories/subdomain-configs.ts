import { randomUUID } from 'node:crypto';
import {
  type DomainContext,
  found,
  NotNullViolationError,
  optionalText,
  PermissionError,
  requirePlainObject,
  requireService,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import { type SubdomainConfig, subdomainConfigs } from '../schema/subdomain-configs.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * The organization is the acting admin's own (a service names it); for anyone else it is null,
 * which the NOT NULL constraint refuses: one statement, no check-then-insert race.
 */
const insertConfig = statement.one(
  'subdomainConfigs.create',
  subdomainConfigs,
  ['id', 'subdomain', 'customDomain', 'settings'],
  ({ db, t, $, actorOrganization, actorHasRole }) =>
    db
      .insert(t)
      .values({
        id: $.id,
        organizationId: sql`case when ${actorHasRole('admin')} then ${actorOrganization()} end`,
        subdomain: $.subdomain,
        customDomain: $.customDomain,
        settings: $.settings,
      })
      .returning(),
);

const bySubdomain = statement.maybe(
  'subdomainConfigs.findBySubdomain',
  subdomainConfigs,
  ['subdomain'],
  ({ db, t, $ }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.subdomain, $.subdomain), eq(t.isActive, true))),
  { serviceOnly: true },
);

const listConfigs = statement.many(
  'subdomainConfigs.list',
  subdomainConfigs,
  [],
  ({ db, t, owned }) => db.select().from(t).where(owned()).orderBy(asc(t.subdomain)),
  { stale: true },
);

const updateActive = statement.maybe(
  'subdomainConfigs.setActive',
  subdomainConfigs,
  ['isActive', 'now', 'id'],
  ({ db, t, $, owned, actorHasRole }) =>
    db
      .update(t)
      .set({ isActive: $.bind(t.isActive, 'isActive'), updatedAt: $.bind(t.updatedAt, 'now') })
      .where(and(eq(t.id, $.id), owned(), actorHasRole('admin')))
      .returning(),
);

const findConfig = statement.maybe(
  'subdomainConfigs.find',
  subdomainConfigs,
  ['id'],
  ({ db, t, $, owned }) =>
    db
      .select({ id: t.id })
      .from(t)
      .where(and(eq(t.id, $.id), owned())),
);

/** An organization's subdomains (and custom domains); its admins manage them. */
export function createSubdomainConfigsRepository(ctx: DomainContext) {
  const { actor } = ctx;
  /** A service names the organization; a user acts in their own. */
  const organization = (organizationId: unknown) =>
    actor.kind === 'service' ? requireUuid(organizationId, 'organizationId') : undefined;

  return {
    /** Claims a subdomain for the actor's organization (admins), or any organization (service). */
    async create(input: {
      subdomain: string;
      customDomain?: string | null;
      settings?: Record<string, unknown>;
      organizationId?: string;
    }): Promise<SubdomainConfig> {
      const given = requirePlainObject(input, 'input');
      const subdomain = requireText(given.subdomain, 'subdomain', {
        max: 63,
        pattern: LABEL,
        patternHint: 'must be a lower-case DNS label (a-z, 0-9, -)',
      });
      const customDomain = optionalText(given.customDomain, 'customDomain', { max: 253 });
      if (customDomain && !DOMAIN.test(customDomain)) {
        throw new ValidationError('customDomain', 'must be a lower-case domain name');
      }
      const settings =
        given.settings === undefined ? {} : requirePlainObject(given.settings, 'settings');
      try {
        return await run(ctx, insertConfig, {
          id: randomUUID(),
          organizationId: organization(given.organizationId),
          subdomain,
          customDomain: customDomain ?? null,
          settings,
        });
      } catch (error) {
        if (error instanceof NotNullViolationError && error.column === 'organization_id') {
          throw new PermissionError("Only the organization's admins may do this");
        }
        throw error;
      }
    },

    /** Routing: which organization serves a subdomain (active ones only). */
    async findBySubdomain(subdomain: string): Promise<SubdomainConfig | null> {
      requireService(actor, 'findBySubdomain');
      const label = requireText(subdomain, 'subdomain', { max: 63 }).toLowerCase();
      return run(ctx, bySubdomain, { subdomain: label });
    },

    async listForOrganization(organizationId?: string): Promise<SubdomainConfig[]> {
      return run(ctx, listConfigs, { organizationId: organization(organizationId) });
    },

    /** Turns a subdomain on or off: the organization's admins, or a service. */
    async setActive(id: string, isActive: boolean): Promise<SubdomainConfig> {
      if (typeof isActive !== 'boolean') throw new ValidationError('isActive', 'must be a boolean');
      const params = {
        id: requireUuid(id, 'id'),
        isActive,
        now: new Date(),
      };
      const row = await run(ctx, updateActive, params);
      if (row) return row;
      await found('subdomain config', run(ctx, findConfig, params));
      throw new PermissionError("Only the organization's admins may do this");
    },
  };
}

export type SubdomainConfigsRepository = ReturnType<typeof createSubdomainConfigsRepository>;
