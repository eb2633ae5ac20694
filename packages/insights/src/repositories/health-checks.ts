import {
  type DomainContext,
  optionalDate,
  optionalText,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireText,
  run,
  statement,
} from '@exora/core';
import { asc, sql } from 'drizzle-orm';
import {
  HEALTH_STATUSES,
  type HealthCheck,
  type HealthStatus,
  healthChecks,
} from '../schema/health-checks.ts';

const upsertCheck = statement.one(
  'healthChecks.upsert',
  healthChecks,
  ['id', 'name', 'status', 'responseTime', 'lastChecked', 'message', 'details'],
  ({ db, t, $, excluded }) =>
    db
      .insert(t)
      .values({
        id: $.id,
        name: $.name,
        status: $.status,
        responseTime: $.responseTime,
        lastChecked: $.lastChecked,
        message: $.message,
        details: $.details,
      })
      .onConflictDoUpdate({
        target: t.id,
        set: {
          name: excluded(t.name),
          status: excluded(t.status),
          responseTime: excluded(t.responseTime),
          lastChecked: excluded(t.lastChecked),
          message: excluded(t.message),
          details: excluded(t.details),
        },
      })
      .returning(),
  { serviceOnly: true },
);

const listChecks = statement.many(
  'healthChecks.list',
  healthChecks,
  [],
  ({ db, t }) => db.select().from(t).orderBy(asc(t.id)),
  { serviceOnly: true, stale: true },
);

const count = (condition: ReturnType<typeof sql>) =>
  sql<number>`coalesce(sum(case when ${condition} then 1 else 0 end), 0)`.mapWith(Number);

/**
 * The "health status summary" sample query: every service counted by status. It reads every row on
 * purpose (one row per platform service: a handful); on Postgres the planner may read
 * `health_checks_status_idx` alone instead of the table.
 */
const summarize = statement.one(
  'healthChecks.summary',
  healthChecks,
  [],
  ({ db, t }) =>
    db
      .select({
        total: sql<number>`count(*)`.mapWith(Number),
        healthy: count(sql`${t.status} = 'ok'`),
        warnings: count(sql`${t.status} = 'warning'`),
        errors: count(sql`${t.status} = 'error'`),
      })
      .from(t),
  { serviceOnly: true, stale: true },
);

/** The statement behind the "health status summary" sample query (for plan checks). */
export const healthSummaryQuery = summarize;

export interface HealthReport {
  /** The service's id (the primary key). */
  id: string;
  name: string;
  status: HealthStatus;
  responseTime?: number | null;
  lastChecked?: Date;
  message?: string | null;
  details?: string | null;
}

/** The last known health of each platform service (monitoring: a service context). */
export function createHealthChecksRepository(ctx: DomainContext) {
  return {
    /** Records a service's current health, replacing what was known of it. */
    async upsert(report: HealthReport): Promise<HealthCheck> {
      const given = requirePlainObject(report, 'report') as unknown as HealthReport;
      return run(ctx, upsertCheck, {
        id: requireText(given.id, 'id', { max: 100 }),
        name: requireText(given.name, 'name', { max: 200 }),
        status: requireOneOf(given.status, 'status', HEALTH_STATUSES),
        responseTime:
          given.responseTime == null
            ? null
            : requireInteger(given.responseTime, 'responseTime', { min: 0 }),
        lastChecked: optionalDate(given.lastChecked, 'lastChecked') ?? new Date(),
        message: optionalText(given.message, 'message', { max: 10_000 }) ?? null,
        details: optionalText(given.details, 'details', { max: 100_000 }) ?? null,
      });
    },

    async list(): Promise<HealthCheck[]> {
      return run(ctx, listChecks, {});
    },

    /** How many services there are, and how many are ok, warning, in error. */
    async summary(): Promise<{ total: number; healthy: number; warnings: number; errors: number }> {
      return run(ctx, summarize, {});
    },
  };
}
