import {
  check,
  createdAt,
  enumType,
  id,
  index,
  integer,
  json,
  ownedByUser,
  table,
  text,
  textArray,
  updatedAt,
  uuid,
} from '@exora/core';
import { users } from '@exora/identity/schema';
import { sql } from 'drizzle-orm';

/** The sales pipeline, in order: a Postgres enum type, text with a CHECK on SQLite. */
export const LEAD_STATUSES = [
  'new',
  'contacted',
  'qualified',
  'proposal',
  'negotiation',
  'won',
  'lost',
] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

export const leadStatus = enumType('lead_status', LEAD_STATUSES);
export const leadStatusEnum = leadStatus.pgEnum;

/** A prospective customer, worked by the user it is assigned to. */
export const leads = table(
  'leads',
  {
    id: id(),
    name: text().notNull(),
    email: text(),
    phone: text(),
    company: text(),
    status: leadStatus().notNull().default('new'),
    /** 0-100, enforced by the database. */
    leadScore: integer().notNull().default(0),
    servicesInterested: textArray().notNull().default([]),
    budgetRange: text(),
    timeline: text(),
    source: text(),
    notes: text(),
    assignedTo: uuid()
      .notNull()
      .references(() => users.columns.id, { onDelete: 'cascade' }),
    metadata: json<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('leads_lead_score_range', sql`${t.leadScore} between 0 and 100`),
    index('leads_assigned_status_idx').on(t.assignedTo, t.status),
    index('leads_assigned_score_idx').on(t.assignedTo, t.leadScore),
    index('leads_services_interested_gin').on(t.servicesInterested).gin(),
    index('leads_metadata_gin').on(t.metadata).gin(),
    ownedByUser(t.assignedTo),
  ],
);

export type Lead = typeof leads.pg.$inferSelect;
export type NewLead = typeof leads.pg.$inferInsert;
