import {
  boolean,
  createdAt,
  id,
  index,
  json,
  ownedByOrganization,
  table,
  text,
  updatedAt,
  uuid,
} from '@exora/core';
import { organizations } from './organizations.ts';

/** `subdomain_configs` (→ organizations): an organization's subdomain. */
export const subdomainConfigs = table(
  'subdomain_configs',
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.columns.id, { onDelete: 'cascade' }),
    /** Lower-case DNS label, unique across the platform. */
    subdomain: text().notNull().unique('subdomain_configs_subdomain_unique'),
    customDomain: text().unique('subdomain_configs_custom_domain_unique'),
    isActive: boolean().notNull().default(true),
    settings: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('subdomain_configs_organization_idx').on(t.organizationId),
    ownedByOrganization(t.organizationId, { adminWrites: true }),
  ],
);

export type SubdomainConfig = typeof subdomainConfigs.pg.$inferSelect;
export type NewSubdomainConfig = typeof subdomainConfigs.pg.$inferInsert;
