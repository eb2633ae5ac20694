import {
  actAs,
  inOrganization,
  NotFoundError,
  optionalText,
  PermissionError,
  requirePlainObject,
  requireService,
  requireText,
  requireUuid,
  ValidationError,
} from '@exora/core';
import { and, asc, eq } from 'drizzle-orm';
import type { DomainContext } from '../context.ts';
import { type SubdomainConfig, subdomainConfigs } from '../schema/subdomain-configs.ts';
import { users } from '../schema/users.ts';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** Seed 000's subdomain configs: an organization's subdomain (and custom domain). */
export function createSubdomainConfigsRepository(ctx: DomainContext) {
  const { actor } = ctx;

  const organizationOf = (organizationId?: string) => {
    if (actor.kind === 'service') return requireUuid(organizationId, 'organizationId');
    if (!actor.organizationId) throw new PermissionError('The user belongs to no organization');
    return actor.organizationId;
  };

  return {
    /** Claims a subdomain for the actor's organization (admins), or any organization (service). */
    async create(input: {
      subdomain: string;
      customDomain?: string | null;
      settings?: Record<string, unknown>;
      organizationId?: string;
    }): Promise<SubdomainConfig> {
      const subdomain = requireText(input.subdomain, 'subdomain', {
        max: 63,
        pattern: LABEL,
        patternHint: 'must be a lower-case DNS label (a-z, 0-9, -)',
      });
      const customDomain = optionalText(input.customDomain, 'customDomain', { max: 253 });
      if (customDomain && !DOMAIN.test(customDomain)) {
        throw new ValidationError('customDomain', 'must be a lower-case domain name');
      }
      const settings =
        input.settings === undefined ? {} : requirePlainObject(input.settings, 'settings');
      const organizationId = organizationOf(input.organizationId);
      return actAs(ctx.exec, actor, async (tx) => {
        if (actor.kind === 'user') {
          const u = tx.table(users);
          const [me] = await tx.db.select({ role: u.role }).from(u).where(eq(u.id, actor.userId));
          if (me?.role !== 'admin')
            throw new PermissionError("Only the organization's admins may do this");
        }
        const t = tx.table(subdomainConfigs);
        const [row] = await tx.db
          .insert(t)
          .values({ organizationId, subdomain, customDomain: customDomain ?? null, settings })
          .returning();
        return row!;
      });
    },

    /** Routing: which organization serves a subdomain (active ones only). */
    async findBySubdomain(subdomain: string): Promise<SubdomainConfig | null> {
      requireService(actor, 'findBySubdomain');
      const label = requireText(subdomain, 'subdomain', { max: 63 }).toLowerCase();
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(subdomainConfigs);
        const [row] = await tx.db
          .select()
          .from(t)
          .where(and(eq(t.subdomain, label), eq(t.isActive, true)));
        return row ?? null;
      });
    },

    async listForOrganization(organizationId?: string): Promise<SubdomainConfig[]> {
      const orgId = organizationOf(organizationId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(subdomainConfigs);
        return tx.db
          .select()
          .from(t)
          .where(and(eq(t.organizationId, orgId), inOrganization(actor, t.organizationId)))
          .orderBy(asc(t.subdomain));
      });
    },

    async setActive(id: string, isActive: boolean): Promise<SubdomainConfig> {
      const configId = requireUuid(id, 'id');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(subdomainConfigs);
        const [row] = await tx.db
          .update(t)
          .set({ isActive: Boolean(isActive), updatedAt: new Date() })
          .where(and(eq(t.id, configId), inOrganization(actor, t.organizationId)))
          .returning();
        if (!row) throw new NotFoundError('subdomain config');
        return row;
      });
    },
  };
}

export type SubdomainConfigsRepository = ReturnType<typeof createSubdomainConfigsRepository>;
