import {
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  ownedByOrganization,
  table,
  text,
  unique,
  uuid,
} from '@exora/core';
import { organizations } from '@exora/identity/schema';
import { workflows } from './workflows.ts';

/**
 * A screenshot stored once per content: `hash` is the SHA-256 of its bytes (hex), computed by
 * the repository, unique within the organization. The bytes live in object storage
 * (`storage_bucket` / `storage_key`); the row says where.
 */
export const screenshots = table(
  'screenshots',
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.columns.id, { onDelete: 'cascade' }),
    /** The workflow it was first stored for; deleting that workflow deletes it. */
    workflowId: uuid(),
    hash: text().notNull(),
    storageBucket: text(),
    storageKey: text().notNull(),
    contentType: text().notNull().default('image/png'),
    sizeBytes: integer().notNull(),
    width: integer(),
    height: integer(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey(
      'screenshots_workflow_organization_fk',
      [t.workflowId, t.organizationId],
      () => [workflows.columns.id, workflows.columns.organizationId],
      { onDelete: 'cascade' },
    ),
    // Unique per organization, not across the platform: a global key would tell one tenant
    // that another already stored the same image.
    unique('screenshots_organization_hash_unique').on(t.organizationId, t.hash),
    // What steps reference a screenshot by (its organization must be theirs).
    unique('screenshots_id_organization_unique').on(t.id, t.organizationId),
    index('screenshots_workflow_idx').on(t.workflowId),
    ownedByOrganization(t.organizationId),
  ],
);

export type Screenshot = typeof screenshots.pg.$inferSelect;
export type NewScreenshot = typeof screenshots.pg.$inferInsert;
