import {
  createdAt,
  index,
  integer,
  serviceOnly,
  table,
  text,
  textEnum,
  timestamp,
  updatedAt,
  varchar,
} from '@exora/core';

export const HEALTH_STATUSES = ['ok', 'warning', 'error'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/**
 * The last known health of each platform service, keyed by the service's id. Platform-wide:
 * monitoring (a service context) writes and reads it.
 */
export const healthChecks = table(
  'health_checks',
  {
    id: varchar(100).primaryKey(),
    name: varchar(200).notNull(),
    status: textEnum(HEALTH_STATUSES).notNull(),
    responseTime: integer(),
    lastChecked: timestamp().notNull(),
    message: text(),
    details: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // The summary counts by status: an index-only scan of this instead of the table.
    index('health_checks_status_idx').on(t.status),
    serviceOnly(),
  ],
);

export type HealthCheck = typeof healthChecks.pg.$inferSelect;
export type NewHealthCheck = typeof healthChecks.pg.$inferInsert;
