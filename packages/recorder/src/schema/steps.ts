import {
  boolean,
  createdAt,
  foreignKey,
  id,
  index,
  integer,
  json,
  ownedByOrganization,
  real,
  table,
  text,
  timestamp,
  unique,
  uniqueIndex,
  updatedAt,
  uuid,
} from '@exora/core';
import { organizations, users } from '@exora/identity/schema';
import { screenshots } from './screenshots.ts';
import { workflows } from './workflows.ts';

export type StepJson = Record<string, unknown>;

/**
 * One recorded action of a workflow. `step_number` is 1..n without gaps within a workflow
 * (unique); the repository's moves park the rows they shift at negative numbers first, so no
 * statement ever meets the unique index half-way (see `repositories/steps.ts`).
 */
export const steps = table(
  'steps',
  {
    id: id(),
    organizationId: uuid()
      .notNull()
      .references(() => organizations.columns.id, { onDelete: 'cascade' }),
    workflowId: uuid().notNull(),
    stepNumber: integer().notNull(),
    /** When it was recorded (the browser's clock). */
    recordedAt: timestamp(),
    actionType: text().notNull(),
    selectors: json<StepJson>().notNull().default({}),
    elementMeta: json<StepJson>().notNull().default({}),
    pageContext: json<StepJson>().notNull().default({}),
    actionData: json<StepJson>(),
    domContext: json<StepJson>(),
    /** A screenshot of the same organization (see the foreign key); deleting it keeps the step. */
    screenshotId: uuid(),
    fieldLabel: text(),
    instruction: text(),
    aiConfidence: real(),
    aiModel: text(),
    aiGeneratedAt: timestamp(),
    labelEdited: boolean().notNull().default(false),
    instructionEdited: boolean().notNull().default(false),
    /** The admin who last edited the label or instruction; deleting the user keeps the edit. */
    editedBy: uuid().references(() => users.columns.id, { onDelete: 'set null' }),
    editedAt: timestamp(),
    healedSelectors: json<StepJson>(),
    healedAt: timestamp(),
    healingConfidence: real(),
    healingMethod: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    foreignKey(
      'steps_workflow_organization_fk',
      [t.workflowId, t.organizationId],
      () => [workflows.columns.id, workflows.columns.organizationId],
      { onDelete: 'cascade' },
    ),
    // The screenshot together with the step's organization: a step can show only its own
    // organization's screenshots, even through raw SQL, where the key's check ignores
    // row-level security. Deleting the screenshot nulls `screenshot_id` alone.
    foreignKey(
      'steps_screenshot_organization_fk',
      [t.screenshotId, t.organizationId],
      () => [screenshots.columns.id, screenshots.columns.organizationId],
      { onDelete: 'set null', setNullColumns: [t.screenshotId] },
    ),
    // What health logs reference a step by (its organization must be theirs).
    unique('steps_id_organization_unique').on(t.id, t.organizationId),
    uniqueIndex('steps_workflow_step_number_unique').on(t.workflowId, t.stepNumber),
    index('steps_screenshot_idx').on(t.screenshotId),
    index('steps_organization_idx').on(t.organizationId),
    ownedByOrganization(t.organizationId),
  ],
);

export type Step = typeof steps.pg.$inferSelect;
export type NewStep = typeof steps.pg.$inferInsert;
