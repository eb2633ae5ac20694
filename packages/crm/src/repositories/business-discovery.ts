import {
  type DomainContext,
  found,
  optionalText,
  requirePlainObject,
  requireUuid,
  run,
  runMany,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import {
  type BusinessDiscoverySession,
  businessDiscoverySessions,
} from '../schema/business-discovery-sessions.ts';
import { type BusinessProfile, businessProfiles } from '../schema/business-profiles.ts';
import {
  type RECOMMENDATION_STATUSES,
  type WorkflowRecommendation,
  workflowRecommendations,
} from '../schema/workflow-recommendations.ts';

const startSession = statement.one(
  'businessDiscovery.start',
  businessDiscoverySessions,
  ['currentQuestion'],
  ({ db, t, $, owner }) =>
    db.insert(t).values({ userId: owner, currentQuestion: $.currentQuestion }).returning(),
);

const findSession = statement.maybe(
  'businessDiscovery.find',
  businessDiscoverySessions,
  ['id'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.id, $.id), owned())),
);

/** Merges the answers into the stored ones in SQL (no lost answer between two writers). */
const recordAnswers = statement.maybe(
  'businessDiscovery.recordAnswers',
  businessDiscoverySessions,
  ['id', 'answers', 'currentQuestion', 'keepQuestion'],
  ({ db, t, $, owned, fn }) =>
    db
      .update(t)
      .set({
        answers: fn.jsonMerge(t.answers, $.bind(t.answers, 'answers')),
        currentQuestion: sql`case when ${$.keepQuestion} then ${t.currentQuestion} else ${$.currentQuestion} end`,
      })
      .where(and(eq(t.id, $.id), owned(), eq(t.status, 'in_progress')))
      .returning(),
);

const completeSession = statement.maybe(
  'businessDiscovery.complete',
  businessDiscoverySessions,
  ['id', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        status: 'completed',
        completedAt: $.bind(t.completedAt, 'now'),
        currentQuestion: null,
      })
      .where(and(eq(t.id, $.id), owned(), eq(t.status, 'in_progress')))
      .returning(),
);

const insertProfile = statement.one(
  'businessDiscovery.insertProfile',
  businessProfiles,
  ['sessionId', 'businessName', 'industry', 'companySize', 'goals', 'profile'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        sessionId: $.sessionId,
        businessName: $.businessName,
        industry: $.industry,
        companySize: $.companySize,
        goals: $.goals,
        profile: $.profile,
      })
      .returning(),
);

const insertRecommendation = statement.count(
  'businessDiscovery.recommend',
  workflowRecommendations,
  ['sessionId', 'workflowTemplateId', 'title', 'reason', 'score'],
  ({ db, t, $, owner }) =>
    db.insert(t).values({
      userId: owner,
      sessionId: $.sessionId,
      workflowTemplateId: $.workflowTemplateId,
      title: $.title,
      reason: $.reason,
      score: $.score,
    }),
);

const listRecommendations = statement.many(
  'businessDiscovery.recommendations',
  workflowRecommendations,
  ['sessionId'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), eq(t.sessionId, $.sessionId)))
      .orderBy(sql`${t.score} desc nulls last`, asc(t.title)),
  { stale: true },
);

const decide = statement.maybe(
  'businessDiscovery.decide',
  workflowRecommendations,
  ['id', 'status'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: $.bind(t.status, 'status') })
      .where(and(eq(t.id, $.id), owned(), eq(t.status, 'pending')))
      .returning(),
);

const findRecommendation = statement.maybe(
  'businessDiscovery.findRecommendation',
  workflowRecommendations,
  ['id'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.id, $.id), owned())),
);

export interface ProfileInput {
  businessName?: string | null;
  industry?: string | null;
  companySize?: string | null;
  goals?: string[];
  profile?: Record<string, unknown>;
}

export interface RecommendationInput {
  title: string;
  reason?: string | null;
  score?: number | null;
  workflowTemplateId?: string | null;
}

/**
 * The business discovery flow: a session collects answers, completes into a business profile,
 * and carries the workflow recommendations made from it, which the user accepts or dismisses.
 */
export function createBusinessDiscoveryRepository(ctx: DomainContext) {
  /** Why an update of an open session changed nothing: not found, or not open (never returns). */
  const notOpen = async (on: DomainContext, id: string): Promise<never> => {
    const session = await found('discovery session', run(on, findSession, { id }));
    throw new ValidationError('sessionId', `the session is ${session.status}, not in progress`);
  };
  return {
    start(firstQuestion?: string): Promise<BusinessDiscoverySession> {
      return run(ctx, startSession, {
        currentQuestion: optionalText(firstQuestion, 'firstQuestion', { max: 200 }) ?? null,
      });
    },

    async get(sessionId: string): Promise<BusinessDiscoverySession> {
      return found(
        'discovery session',
        run(ctx, findSession, { id: requireUuid(sessionId, 'sessionId') }),
      );
    },

    /** Adds answers (by question key) to an open session and moves to `nextQuestion`. */
    async recordAnswers(
      sessionId: string,
      answers: Record<string, unknown>,
      nextQuestion?: string | null,
    ): Promise<BusinessDiscoverySession> {
      const id = requireUuid(sessionId, 'sessionId');
      const question = optionalText(nextQuestion, 'nextQuestion', { max: 200 });
      const row = await run(ctx, recordAnswers, {
        id,
        answers: requirePlainObject(answers, 'answers'),
        currentQuestion: question ?? null,
        keepQuestion: question === undefined,
      });
      return row ?? notOpen(ctx, id);
    },

    /** Completes an open session into the business profile, all or nothing. */
    async complete(sessionId: string, input: ProfileInput): Promise<BusinessProfile> {
      const id = requireUuid(sessionId, 'sessionId');
      const given = requirePlainObject(input, 'input') as ProfileInput;
      const goals = given.goals ?? [];
      if (!Array.isArray(goals) || goals.some((g) => typeof g !== 'string')) {
        throw new ValidationError('goals', 'must be an array of strings');
      }
      const values = {
        sessionId: id,
        businessName: optionalText(given.businessName, 'businessName', { max: 200 }) ?? null,
        industry: optionalText(given.industry, 'industry', { max: 200 }) ?? null,
        companySize: optionalText(given.companySize, 'companySize', { max: 50 }) ?? null,
        goals,
        profile: given.profile === undefined ? {} : requirePlainObject(given.profile, 'profile'),
      };
      return unit(ctx, 'write', async (tx) => {
        const done = await run(tx, completeSession, { id, now: new Date() });
        if (!done) await notOpen(tx, id);
        return run(tx, insertProfile, values);
      });
    },

    /** Attaches recommendations to the user's session (bulk insert), all or nothing. */
    async recommend(sessionId: string, items: readonly RecommendationInput[]): Promise<number> {
      const id = requireUuid(sessionId, 'sessionId');
      if (!Array.isArray(items)) throw new ValidationError('items', 'must be an array');
      const rows = items.map((item, i) => {
        const given = requirePlainObject(item, `items[${i}]`) as unknown as RecommendationInput;
        const score = given.score ?? null;
        if (score !== null && (typeof score !== 'number' || !Number.isFinite(score))) {
          throw new ValidationError(`items[${i}].score`, 'must be a number');
        }
        return {
          sessionId: id,
          title: optionalText(given.title, `items[${i}].title`, { max: 300 }) ?? '',
          reason: optionalText(given.reason, `items[${i}].reason`, { max: 5000 }) ?? null,
          score,
          workflowTemplateId:
            given.workflowTemplateId == null
              ? null
              : requireUuid(given.workflowTemplateId, `items[${i}].workflowTemplateId`),
        };
      });
      if (rows.some((r) => r.title === '')) throw new ValidationError('title', 'must not be empty');
      return unit(ctx, 'write', async (tx) => {
        await found('discovery session', run(tx, findSession, { id }));
        return runMany(tx, insertRecommendation, rows);
      });
    },

    recommendations(sessionId: string): Promise<WorkflowRecommendation[]> {
      return run(ctx, listRecommendations, { sessionId: requireUuid(sessionId, 'sessionId') });
    },

    accept: (id: string) => decideOn(ctx, id, 'accepted'),
    dismiss: (id: string) => decideOn(ctx, id, 'dismissed'),
  };
}

async function decideOn(
  ctx: DomainContext,
  recommendationId: string,
  status: (typeof RECOMMENDATION_STATUSES)[number],
): Promise<WorkflowRecommendation> {
  const id = requireUuid(recommendationId, 'id');
  const row = await run(ctx, decide, { id, status });
  if (row) return row;
  const current = await found('recommendation', run(ctx, findRecommendation, { id }));
  throw new ValidationError('status', `the recommendation is already ${current.status}`);
}
