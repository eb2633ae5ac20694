/**
 * The core's own sample tables: every column kind the kit has, with a foreign key, unique
 * constraints, an expression index, a GIN index, checks and a policy. The core's tests
 * compare the DDL both dialects get for them.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  createdAt,
  enumType,
  id,
  index,
  integer,
  json,
  ownedByUser,
  real,
  table,
  text,
  textArray,
  textEnum,
  timestamp,
  unique,
  uniqueIndex,
  updatedAt,
  uuid,
  varchar,
} from '../src/index.ts';

export const sampleMood = enumType('sample_mood', ['calm', 'busy', 'away']);
export const sampleMoodEnum = sampleMood.pgEnum;

export const sampleOwners = table(
  'sample_owners',
  {
    id: id(),
    email: text().notNull(),
    displayName: varchar(80),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('sample_owners_email_lower_unique').on(sql`lower(${t.email})`)],
);

export interface SampleSettings {
  theme: 'light' | 'dark';
  flags?: string[];
}

export const sampleItems = table(
  'sample_items',
  {
    id: id(),
    ownerId: uuid()
      .notNull()
      .references(() => sampleOwners.columns.id, { onDelete: 'cascade' }),
    reviewerId: uuid().references(() => sampleOwners.columns.id, { onDelete: 'set null' }),
    title: varchar(120).notNull(),
    body: text(),
    position: integer().notNull().default(0),
    bytes: bigint(),
    ratio: real(),
    score: integer(),
    done: boolean().notNull().default(false),
    status: textEnum(['draft', 'active', 'archived']).notNull().default('draft'),
    mood: sampleMood(),
    tags: textArray().notNull().default([]),
    settings: json<SampleSettings>().notNull().default({ theme: 'light' }),
    dueAt: timestamp(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique('sample_items_owner_title_unique').on(t.ownerId, t.title),
    index('sample_items_owner_idx').on(t.ownerId),
    index('sample_items_settings_gin').on(t.settings).gin(),
    check('sample_items_score_range', sql`${t.score} between 0 and 100`),
    ownedByUser(t.ownerId),
  ],
);

export type SampleItem = typeof sampleItems.pg.$inferSelect;
export type NewSampleItem = typeof sampleItems.pg.$inferInsert;
