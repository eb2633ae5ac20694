import {
  type DomainContext,
  ForeignKeyViolationError,
  found,
  NotFoundError,
  requireDate,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  runMany,
  statement,
  ValidationError,
} from '@exora/core';
import { and, asc, desc, eq, getTableName, sql } from 'drizzle-orm';
import { type InsightDistribution, insightDistributions } from '../schema/insight-distributions.ts';
import { type Insight, insights } from '../schema/insights.ts';
import { type Report, reports } from '../schema/reports.ts';

const createReport = statement.one(
  'reports.create',
  reports,
  ['vendor', 'reportType', 'reportDate', 'filePath', 'reportData', 'metadata'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        vendor: $.vendor,
        reportType: $.reportType,
        reportDate: $.reportDate,
        filePath: $.filePath,
        reportData: $.reportData,
        metadata: $.metadata,
      })
      .returning(),
);

/**
 * The "reports with insights" sample query: the user's reports, newest report date first, each with
 * its number of insights. The count is a correlated subquery rather than the seed's
 * `LEFT JOIN ... GROUP BY`: it reads only the listed reports' insights, on `insights_report_idx`,
 * instead of joining every insight of the user before the limit.
 */
const listWithCounts = statement.many(
  'reports.listWithInsightCounts',
  reports,
  ['limit'],
  ({ db, t, $, owned, table }) => {
    const i = table(insights);
    return db
      .select({
        id: t.id,
        vendor: t.vendor,
        reportType: t.reportType,
        reportDate: t.reportDate,
        // The outer column spelled with its table: Drizzle writes a single-table select's
        // columns unqualified, and a bare "id" here would be the insight's own.
        insightCount:
          sql<number>`(select count(*) from ${i} where ${i.reportId} = ${sql.identifier(getTableName(t))}.${sql.identifier(t.id.name)})`.mapWith(
            Number,
          ),
      })
      .from(t)
      .where(owned())
      .orderBy(desc(t.reportDate))
      .limit($.limit);
  },
  { stale: true },
);

/** The statement behind the "reports with insights" sample query (for plan checks). */
export const reportsWithInsightCountsQuery = listWithCounts;

/** Only on a report of the user's own: the (report, user) foreign key is the check. */
const addInsight = statement.one(
  'insights.add',
  insights,
  ['reportId', 'insightType', 'content', 'score', 'metadata'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        reportId: $.reportId,
        userId: owner,
        insightType: $.insightType,
        content: $.content,
        score: $.score,
        metadata: $.metadata,
      })
      .returning(),
);

const listInsights = statement.many(
  'insights.listForReport',
  insights,
  ['reportId'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.reportId, $.reportId), owned()))
      .orderBy(asc(t.createdAt), asc(t.id)),
  { stale: true },
);

const addDistribution = statement.count(
  'insightDistributions.add',
  insightDistributions,
  ['insightId', 'recipientType', 'recipientId', 'distributionMethod'],
  ({ db, t, $, owner }) =>
    db.insert(t).values({
      insightId: $.insightId,
      userId: owner,
      recipientType: $.recipientType,
      recipientId: $.recipientId,
      distributionMethod: $.distributionMethod,
    }),
);

const listDistributions = statement.many(
  'insightDistributions.list',
  insightDistributions,
  ['insightId'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.insightId, $.insightId), owned()))
      .orderBy(asc(t.createdAt), asc(t.id)),
  { stale: true },
);

const markDistribution = statement.maybe(
  'insightDistributions.mark',
  insightDistributions,
  ['id', 'status', 'sentAt'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: sql`${$.status}`, sentAt: $.bind(t.sentAt, 'sentAt') })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

export interface CreateReportInput {
  vendor: string;
  reportType: string;
  reportDate: Date;
  filePath?: string | null;
  reportData?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface AddInsightInput {
  insightType: string;
  content?: Record<string, unknown>;
  /** Quality score 0-100. */
  score?: number | null;
  metadata?: Record<string, unknown>;
}

export interface Recipient {
  recipientType: string;
  recipientId: string;
  distributionMethod: string;
}

/** A foreign-key miss on a (parent, user) pair: the parent is not the user's (or not there). */
async function ownParent<T>(entity: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ForeignKeyViolationError) throw new NotFoundError(entity);
    throw error;
  }
}

const optionalObject = (value: unknown, field: string) =>
  value === undefined ? {} : requirePlainObject(value, field);

/**
 * A user's processed reports, the insights drawn from them and their distribution to
 * recipients. A service acts for a user by naming them (`userId`).
 */
export function createReportsRepository(ctx: DomainContext) {
  return {
    async create(input: CreateReportInput, userId?: string): Promise<Report> {
      const given = requirePlainObject(input, 'input') as unknown as CreateReportInput;
      return run(ctx, createReport, {
        owner: userId,
        vendor: requireText(given.vendor, 'vendor', { max: 100 }),
        reportType: requireText(given.reportType, 'reportType', { max: 100 }),
        reportDate: requireDate(given.reportDate, 'reportDate'),
        filePath:
          given.filePath == null ? null : requireText(given.filePath, 'filePath', { max: 4096 }),
        reportData: optionalObject(given.reportData, 'reportData'),
        metadata: optionalObject(given.metadata, 'metadata'),
      });
    },

    /** The user's reports, newest report date first, with their insight counts. */
    async listWithInsightCounts(options: { limit?: number } = {}, userId?: string) {
      const limit = requireInteger(options.limit ?? 50, 'limit', { min: 1, max: 1000 });
      return run(ctx, listWithCounts, { owner: userId, limit });
    },

    /** Attaches an insight to one of the user's reports; NotFoundError if it is not theirs. */
    async addInsight(reportId: string, input: AddInsightInput, userId?: string): Promise<Insight> {
      const given = requirePlainObject(input, 'input') as unknown as AddInsightInput;
      const params = {
        owner: userId,
        reportId: requireUuid(reportId, 'reportId'),
        insightType: requireText(given.insightType, 'insightType', { max: 100 }),
        content: optionalObject(given.content, 'content'),
        score:
          given.score == null ? null : requireInteger(given.score, 'score', { min: 0, max: 100 }),
        metadata: optionalObject(given.metadata, 'metadata'),
      };
      return ownParent('report', run(ctx, addInsight, params));
    },

    async listInsights(reportId: string, userId?: string): Promise<Insight[]> {
      return run(ctx, listInsights, { owner: userId, reportId: requireUuid(reportId, 'reportId') });
    },

    /**
     * Distributes one of the user's insights to recipients (pending until marked sent), all or
     * nothing; NotFoundError if the insight is not theirs. Returns the distributions.
     */
    async distribute(
      insightId: string,
      recipients: readonly Recipient[],
      userId?: string,
    ): Promise<InsightDistribution[]> {
      const id = requireUuid(insightId, 'insightId');
      if (!Array.isArray(recipients) || recipients.length === 0 || recipients.length > 1000) {
        throw new ValidationError('recipients', 'must be an array of 1 to 1000 recipients');
      }
      const rows = recipients.map((r) => {
        const given = requirePlainObject(r, 'recipients') as unknown as Recipient;
        return {
          owner: userId,
          insightId: id,
          recipientType: requireText(given.recipientType, 'recipientType', { max: 100 }),
          recipientId: requireText(given.recipientId, 'recipientId', { max: 255 }),
          distributionMethod: requireText(given.distributionMethod, 'distributionMethod', {
            max: 100,
          }),
        };
      });
      await ownParent('insight', runMany(ctx, addDistribution, rows));
      return run(ctx, listDistributions, { owner: userId, insightId: id });
    },

    /** Marks a distribution sent (now) or failed; NotFoundError if it is not the user's. */
    async markDistribution(
      id: string,
      status: 'sent' | 'failed',
      userId?: string,
    ): Promise<InsightDistribution> {
      const to = requireOneOf(status, 'status', ['sent', 'failed'] as const);
      return found(
        'insight distribution',
        run(ctx, markDistribution, {
          owner: userId,
          id: requireUuid(id, 'id'),
          status: to,
          sentAt: to === 'sent' ? new Date() : null,
        }),
      );
    },
  };
}
