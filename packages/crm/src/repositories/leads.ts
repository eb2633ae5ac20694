import {
  type DomainContext,
  ForeignKeyViolationError,
  found,
  NotFoundError,
  optionalText,
  ownedRow,
  requireInteger,
  requireOneOf,
  requirePlainObject,
  requireService,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, desc, eq, gte, sql } from 'drizzle-orm';
import { LEAD_STATUSES, type Lead, type LeadStatus, leads } from '../schema/leads.ts';

/** The lowest and highest lead score (the database's CHECK says the same). */
export const MIN_LEAD_SCORE = 0;
export const MAX_LEAD_SCORE = 100;

/** The pipeline's final stages: a lead that reached one stays there. */
const CLOSED: readonly LeadStatus[] = ['won', 'lost'];

/** A status's place in the pipeline, in SQL (the same on both dialects). */
const rank = (value: unknown) =>
  sql`(case ${value} ${sql.raw(LEAD_STATUSES.map((s, i) => `when '${s}' then ${i}`).join(' '))} end)`;

const createLead = statement.one(
  'leads.create',
  leads,
  [
    'name',
    'email',
    'phone',
    'company',
    'status',
    'leadScore',
    'servicesInterested',
    'budgetRange',
    'timeline',
    'source',
    'notes',
    'metadata',
  ],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        name: $.name,
        email: $.email,
        phone: $.phone,
        company: $.company,
        status: $.status,
        leadScore: $.leadScore,
        servicesInterested: $.servicesInterested,
        budgetRange: $.budgetRange,
        timeline: $.timeline,
        source: $.source,
        notes: $.notes,
        assignedTo: owner,
        metadata: $.metadata,
      })
      .returning(),
);

const findLead = ownedRow.find('leads.find', leads);

/**
 * Moves a lead forward along the pipeline (or to `lost` from any open stage); a closed lead
 * (`won`, `lost`) does not move again.
 */
const moveLead = statement.maybe(
  'leads.updateStatus',
  leads,
  ['id', 'status'],
  ({ db, t, $, owned }) => {
    const next = $.bind(t.status, 'status');
    return db
      .update(t)
      .set({ status: next })
      .where(
        and(
          eq(t.id, $.id),
          owned(),
          sql`${t.status} not in ('won', 'lost')`,
          sql`${rank(t.status)} < ${rank(next)}`,
        ),
      )
      .returning();
  },
);

const scoreLead = ownedRow.set('leads.score', leads, 'leadScore');

/** Gives a lead to another user: a service's call (a user's lead is theirs alone). */
const assignLead = statement.maybe(
  'leads.assign',
  leads,
  ['id', 'assignedTo'],
  ({ db, t, $ }) =>
    db
      .update(t)
      .set({ assignedTo: $.bind(t.assignedTo, 'assignedTo') })
      .where(eq(t.id, $.id))
      .returning(),
  { serviceOnly: true },
);

const deleteLead = ownedRow.delete('leads.delete', leads);

const byStatus = statement.many(
  'leads.findByStatus',
  leads,
  ['status', 'limit'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), eq(t.status, $.bind(t.status, 'status'))))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

const byMinScore = statement.many(
  'leads.findByMinScore',
  leads,
  ['minScore', 'limit'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), gte(t.leadScore, $.minScore)))
      .orderBy(desc(t.leadScore), desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

/** `text[] @> array[...]` on Postgres, which the GIN index on the column serves. */
const byService = statement.many(
  'leads.findByService',
  leads,
  ['service', 'limit'],
  ({ db, t, $, owned, fn }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), fn.arrayContains(t.servicesInterested, $.service)))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

/** `jsonb @> ...` on Postgres, which the GIN index on the column serves. */
const byMetadata = statement.many(
  'leads.findByMetadata',
  leads,
  ['match', 'limit'],
  ({ db, t, $, owned, fn }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), fn.jsonContains(t.metadata, $.bind(t.metadata, 'match'))))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

export interface CreateLeadInput {
  name: string;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
  /** Where the lead starts in the pipeline (default `new`). */
  status?: LeadStatus;
  /** 0 to 100 (default 0). */
  leadScore?: number;
  servicesInterested?: string[];
  budgetRange?: string | null;
  timeline?: string | null;
  source?: string | null;
  notes?: string | null;
  metadata?: Record<string, unknown>;
}

/** Top-level metadata values a lookup matches (every key given must hold that value). */
export type LeadMetadataMatch = Record<string, string | number | boolean>;

export interface FindLeadsOptions {
  /** At most this many (default 50, at most 500). */
  limit?: number;
}

/** The most services one lead lists, and the longest name of one. */
const MAX_SERVICES = 50;
const MAX_SERVICE_LENGTH = 200;

function servicesOf(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_SERVICES) {
    throw new ValidationError('servicesInterested', `must be an array of at most ${MAX_SERVICES}`);
  }
  const out: string[] = [];
  for (const item of value) {
    const service = requireText(item, 'servicesInterested', { max: MAX_SERVICE_LENGTH });
    if (!out.includes(service)) out.push(service);
  }
  return out;
}

/** A score in range: a ValidationError before any SQL, whatever the database would say. */
function scoreOf(value: unknown): number {
  return requireInteger(value, 'leadScore', { min: MIN_LEAD_SCORE, max: MAX_LEAD_SCORE });
}

function limitOf(options: FindLeadsOptions | undefined): number {
  return requireInteger(options?.limit ?? 50, 'limit', { min: 1, max: 500 });
}

function metadataOf(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  return requirePlainObject(value, 'metadata');
}

function matchOf(value: unknown): LeadMetadataMatch {
  const match = requirePlainObject(value, 'match');
  const keys = Object.keys(match);
  if (keys.length === 0 || keys.length > 20) {
    throw new ValidationError('match', 'must give from 1 to 20 keys');
  }
  for (const key of keys) {
    const v = match[key];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new ValidationError('match', 'must hold strings, numbers or booleans');
    }
  }
  return match as LeadMetadataMatch;
}

const text = (value: unknown, field: string, max: number) =>
  optionalText(value, field, { max }) ?? null;

/** Sales leads: the pipeline, scores, assignment and the lookups a sales view needs. */
export function createLeadsRepository(ctx: DomainContext) {
  const { actor } = ctx;
  return {
    /** A new lead assigned to the acting user (a service names the user). */
    async create(input: CreateLeadInput, userId?: string): Promise<Lead> {
      const given = requirePlainObject(input, 'input');
      return run(ctx, createLead, {
        owner: userId,
        name: requireText(given.name, 'name', { max: 500 }),
        email: text(given.email, 'email', 320),
        phone: text(given.phone, 'phone', 100),
        company: text(given.company, 'company', 500),
        status:
          given.status === undefined ? 'new' : requireOneOf(given.status, 'status', LEAD_STATUSES),
        leadScore: given.leadScore === undefined ? 0 : scoreOf(given.leadScore),
        servicesInterested: servicesOf(given.servicesInterested),
        budgetRange: text(given.budgetRange, 'budgetRange', 200),
        timeline: text(given.timeline, 'timeline', 200),
        source: text(given.source, 'source', 200),
        notes: text(given.notes, 'notes', 100_000),
        metadata: metadataOf(given.metadata),
      });
    },

    /** One of the actor's leads, or NotFoundError. */
    async get(leadId: string): Promise<Lead> {
      return found('lead', run(ctx, findLead, { id: requireUuid(leadId, 'leadId') }));
    },

    /**
     * Moves a lead to a later stage of the pipeline (new, contacted, qualified, proposal,
     * negotiation, won), or to `lost` from any open stage. Backwards, or out of `won` / `lost`:
     * ValidationError.
     */
    async updateStatus(leadId: string, status: LeadStatus): Promise<Lead> {
      const id = requireUuid(leadId, 'leadId');
      const next = requireOneOf(status, 'status', LEAD_STATUSES);
      const moved = await run(ctx, moveLead, { id, status: next });
      if (moved) return moved;
      const lead = await found('lead', run(ctx, findLead, { id }));
      throw new ValidationError(
        'status',
        CLOSED.includes(lead.status)
          ? 'the lead is closed (won or lost)'
          : 'a lead moves forward along the pipeline (or to lost)',
      );
    },

    /** Sets the lead's score, a whole number from 0 to 100 (checked before any SQL). */
    async score(leadId: string, score: number): Promise<Lead> {
      const id = requireUuid(leadId, 'leadId');
      const leadScore = scoreOf(score);
      return found('lead', run(ctx, scoreLead, { id, leadScore }));
    },

    /** Assigns a lead to a user, who then works it. Service only. */
    async assign(leadId: string, userId: string): Promise<Lead> {
      requireService(actor, 'leads.assign');
      const id = requireUuid(leadId, 'leadId');
      const assignedTo = requireUuid(userId, 'userId');
      try {
        return await found('lead', run(ctx, assignLead, { id, assignedTo }));
      } catch (error) {
        if (error instanceof ForeignKeyViolationError) throw new NotFoundError('user');
        throw error;
      }
    },

    /** Deletes one of the actor's leads. */
    async delete(leadId: string): Promise<void> {
      const id = requireUuid(leadId, 'leadId');
      if ((await run(ctx, deleteLead, { id })) === 0) throw new NotFoundError('lead');
    },

    /** The actor's leads at one stage, newest first (a service names the user). */
    async findByStatus(
      status: LeadStatus,
      options?: FindLeadsOptions,
      userId?: string,
    ): Promise<Lead[]> {
      return run(ctx, byStatus, {
        owner: userId,
        status: requireOneOf(status, 'status', LEAD_STATUSES),
        limit: limitOf(options),
      });
    },

    /** The actor's leads scoring at least `minScore`, best first. */
    async findByMinScore(
      minScore: number,
      options?: FindLeadsOptions,
      userId?: string,
    ): Promise<Lead[]> {
      return run(ctx, byMinScore, {
        owner: userId,
        minScore: requireInteger(minScore, 'minScore', {
          min: MIN_LEAD_SCORE,
          max: MAX_LEAD_SCORE,
        }),
        limit: limitOf(options),
      });
    },

    /** The actor's leads interested in a service, newest first. */
    async findByService(
      service: string,
      options?: FindLeadsOptions,
      userId?: string,
    ): Promise<Lead[]> {
      return run(ctx, byService, {
        owner: userId,
        service: requireText(service, 'service', { max: MAX_SERVICE_LENGTH }),
        limit: limitOf(options),
      });
    },

    /**
     * The actor's leads whose metadata holds every key of `match` with that value (top-level
     * strings, numbers, booleans), newest first.
     */
    async findByMetadata(
      match: LeadMetadataMatch,
      options?: FindLeadsOptions,
      userId?: string,
    ): Promise<Lead[]> {
      return run(ctx, byMetadata, {
        owner: userId,
        match: matchOf(match),
        limit: limitOf(options),
      });
    },
  };
}

export type LeadsRepository = ReturnType<typeof createLeadsRepository>;

/** The statement behind `findByService` (for plan checks: the GIN index on Postgres). */
export const leadsByServiceQuery = byService;
/** The statement behind `findByMetadata` (for plan checks: the GIN index on Postgres). */
export const leadsByMetadataQuery = byMetadata;
