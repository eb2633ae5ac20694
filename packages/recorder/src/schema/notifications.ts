import {
  boolean,
  createdAt,
  foreignKey,
  id,
  index,
  ownedByOrganization,
  table,
  text,
  textEnum,
  timestamp,
  uuid,
} from '@exora/core';
import { organizations, users } from '@exora/identity/schema';
import { workflows } from './workflows.ts';

export const NOTIFICATION_SEVERITIES = ['info', 'warning', 'error'] as const;
export type NotificationSeverity = (typeof NOTIFICATION_SEVERITIES)[number];

/** An alert for an organization's admins about a workflow's health; read once by anyone. */
export const notifications = table(
  'notifications',
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.columns.id, { onDelete: 'cascade' }),
    workflowId: uuid(),
    type: text().notNull(),
    severity: textEnum(NOTIFICATION_SEVERITIES).notNull().default('info'),
    title: text().notNull(),
    message: text().notNull(),
    actionUrl: text(),
    read: boolean().notNull().default(false),
    /** Who read it; deleting that user keeps the notification read. */
    readBy: uuid().references(() => users.columns.id, { onDelete: 'set null' }),
    readAt: timestamp(),
    createdAt: createdAt(),
  },
  (t) => [
    foreignKey(
      'notifications_workflow_organization_fk',
      [t.workflowId, t.organizationId],
      () => [workflows.columns.id, workflows.columns.organizationId],
      { onDelete: 'cascade' },
    ),
    index('notifications_organization_read_created_idx').on(t.organizationId, t.read, t.createdAt),
    index('notifications_workflow_idx').on(t.workflowId),
    ownedByOrganization(t.organizationId),
  ],
);

export type RecorderNotification = typeof notifications.pg.$inferSelect;
export type NewRecorderNotification = typeof notifications.pg.$inferInsert;
