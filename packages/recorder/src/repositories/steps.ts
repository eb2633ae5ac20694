import {
  type BuildContext,
  type DomainContext,
  found,
  NotFoundError,
  NotNullViolationError,
  optionalDate,
  optionalText,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  runMany,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, lt, sql } from 'drizzle-orm';
import { type Step, type StepJson, steps } from '../schema/steps.ts';
import {
  inWorkflow,
  linking,
  lockedWorkflow,
  organizationOfWorkflow,
  requireRange,
} from './internal.ts';

/** What a recorded step gives; the repository numbers it. */
export interface StepInput {
  actionType: string;
  selectors?: StepJson;
  elementMeta?: StepJson;
  pageContext?: StepJson;
  actionData?: StepJson | null;
  domContext?: StepJson | null;
  screenshotId?: string | null;
  fieldLabel?: string | null;
  instruction?: string | null;
  aiConfidence?: number | null;
  aiModel?: string | null;
  recordedAt?: Date | null;
}

/** A step's columns as statement parameters, validated; `stepNumber` is filled in later. */
export function stepValues(input: unknown, field: string) {
  const s = requirePlainObject(input, field);
  const object = (value: unknown, name: string) =>
    value === undefined ? {} : requirePlainObject(value, `${field}.${name}`);
  const nullableObject = (value: unknown, name: string) =>
    value == null ? null : requirePlainObject(value, `${field}.${name}`);
  const confidence = s.aiConfidence;
  if (
    confidence != null &&
    (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1))
  ) {
    throw new ValidationError(`${field}.aiConfidence`, 'must be a number from 0 to 1');
  }
  return {
    stepNumber: 0,
    actionType: requireText(s.actionType, `${field}.actionType`, { max: 100 }),
    selectors: object(s.selectors, 'selectors'),
    elementMeta: object(s.elementMeta, 'elementMeta'),
    pageContext: object(s.pageContext, 'pageContext'),
    actionData: nullableObject(s.actionData, 'actionData'),
    domContext: nullableObject(s.domContext, 'domContext'),
    screenshotId:
      s.screenshotId == null ? null : requireUuid(s.screenshotId, `${field}.screenshotId`),
    fieldLabel: optionalText(s.fieldLabel, `${field}.fieldLabel`, { max: 1_000 }) ?? null,
    instruction: optionalText(s.instruction, `${field}.instruction`, { max: 10_000 }) ?? null,
    aiConfidence: (confidence as number | null | undefined) ?? null,
    aiModel: optionalText(s.aiModel, `${field}.aiModel`, { max: 200 }) ?? null,
    recordedAt: optionalDate(s.recordedAt, `${field}.recordedAt`) ?? null,
  };
}

type StepValues = ReturnType<typeof stepValues>;

const STEP_KEYS = [
  'workflowId',
  'stepNumber',
  'actionType',
  'selectors',
  'elementMeta',
  'pageContext',
  'actionData',
  'domContext',
  'screenshotId',
  'fieldLabel',
  'instruction',
  'aiConfidence',
  'aiModel',
  'recordedAt',
] as const;

type StepBuild = BuildContext<typeof steps, (typeof STEP_KEYS)[number]>;

/**
 * One step row, in its workflow's organization (see `organizationOfWorkflow`): a workflow the
 * actor may not see is refused by the foreign key.
 */
const stepRow = ({ t, $, table, owned, actorOrganization }: StepBuild) => ({
  organizationId: organizationOfWorkflow({ table, owned, actorOrganization }, $.workflowId),
  workflowId: $.workflowId,
  stepNumber: $.stepNumber,
  actionType: $.actionType,
  selectors: $.bind(t.selectors, 'selectors'),
  elementMeta: $.bind(t.elementMeta, 'elementMeta'),
  pageContext: $.bind(t.pageContext, 'pageContext'),
  actionData: $.bind(t.actionData, 'actionData'),
  domContext: $.bind(t.domContext, 'domContext'),
  screenshotId: $.screenshotId,
  fieldLabel: $.fieldLabel,
  instruction: $.instruction,
  aiConfidence: $.aiConfidence,
  aiModel: $.aiModel,
  recordedAt: $.bind(t.recordedAt, 'recordedAt'),
});

const insertStepRows = statement.count('steps.insertMany', steps, STEP_KEYS, (q) =>
  q.db.insert(q.t).values(stepRow(q)),
);
const insertStep = statement.one('steps.insert', steps, STEP_KEYS, (q) =>
  q.db.insert(q.t).values(stepRow(q)).returning(),
);

const listSteps = statement.many(
  'steps.list',
  steps,
  ['workflowId'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.workflowId, $.workflowId), owned()))
      .orderBy(asc(t.stepNumber)),
  { stale: true },
);

const findStep = statement.maybe('steps.find', steps, ['id'], ({ db, t, $, owned }) =>
  db
    .select()
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

const countSteps = statement.maybe('steps.count', steps, ['workflowId'], ({ db, t, $, owned }) =>
  db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(t)
    .where(and(eq(t.workflowId, $.workflowId), owned())),
);

/**
 * First half of a move: the steps numbered `from`..`to` take their negated numbers, which no
 * other step holds, so the unique index is never met half-way through either statement.
 */
const parkSteps = statement.count(
  'steps.park',
  steps,
  ['workflowId', 'from', 'to'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ stepNumber: sql`-${t.stepNumber}` })
      .where(
        and(
          eq(t.workflowId, $.workflowId),
          owned(),
          sql`${t.stepNumber} between ${$.from} and ${$.to}`,
        ),
      ),
);

/**
 * Second half: each parked step returns shifted by `shift`, except the step `id`, which takes
 * `at` (numbers the shifted ones left free).
 */
const unparkSteps = statement.count(
  'steps.unpark',
  steps,
  ['workflowId', 'id', 'at', 'shift', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        stepNumber: sql`case when ${t.id} = ${$.id} then ${$.at} else ${$.shift} - ${t.stepNumber} end`,
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.workflowId, $.workflowId), owned(), lt(t.stepNumber, 0))),
);

/** Second half of a reorder: each parked step takes its position in `order` (a JSON array). */
const renumberSteps = statement.count(
  'steps.renumber',
  steps,
  ['workflowId', 'order', 'now'],
  ({ db, t, $, owned, fn }) =>
    db
      .update(t)
      .set({
        stepNumber: fn.jsonArrayPosition($.order, t.id),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.workflowId, $.workflowId), owned(), lt(t.stepNumber, 0))),
);

const deleteStep = statement.maybe('steps.delete', steps, ['id'], ({ db, t, $, owned }) =>
  db
    .delete(t)
    .where(and(eq(t.id, $.id), owned()))
    .returning({ workflowId: t.workflowId, stepNumber: t.stepNumber }),
);

const editStep = statement.maybe(
  'steps.edit',
  steps,
  ['id', 'fieldLabel', 'instruction', 'labelGiven', 'instructionGiven', 'now'],
  ({ db, t, $, owned, owner }) =>
    db
      .update(t)
      .set({
        fieldLabel: sql`coalesce(${$.fieldLabel}, ${t.fieldLabel})`,
        instruction: sql`coalesce(${$.instruction}, ${t.instruction})`,
        labelEdited: sql`(${t.labelEdited} or ${$.labelGiven} = ${true})`,
        instructionEdited: sql`(${t.instructionEdited} or ${$.instructionGiven} = ${true})`,
        editedBy: sql`${owner}`,
        editedAt: $.bind(t.editedAt, 'now'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

const healStep = statement.maybe(
  'steps.heal',
  steps,
  ['id', 'healedSelectors', 'healingConfidence', 'healingMethod', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        healedSelectors: $.bind(t.healedSelectors, 'healedSelectors'),
        healingConfidence: $.bind(t.healingConfidence, 'healingConfidence'),
        healingMethod: $.bind(t.healingMethod, 'healingMethod'),
        healedAt: $.bind(t.healedAt, 'now'),
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

/** The highest step number a workflow may reach (room below 2^31 for the parked negatives). */
const MAX_STEP = 1_000_000;

/**
 * Inserts validated steps numbered 1..n into a workflow of the organization (the caller's unit,
 * which has made or locked it): a screenshot that is not the organization's is a ValidationError.
 */
export function insertSteps(tx: DomainContext, workflowId: string, rows: readonly StepValues[]) {
  const inserted = runMany(
    tx,
    insertStepRows,
    rows.map((r, i) => Object.assign({ workflowId }, r, { stepNumber: i + 1 })),
  );
  return rows.some((r) => r.screenshotId !== null)
    ? linking(inserted, 'steps.screenshotId', 'screenshot')
    : inserted;
}

/** A workflow's steps in order. */
export function listStepsOf(tx: DomainContext, workflowId: string): Promise<Step[]> {
  return run(tx, listSteps, { workflowId });
}

async function stepCount(tx: DomainContext, workflowId: string): Promise<number> {
  return (await run(tx, countSteps, { workflowId }))?.n ?? 0;
}

/** Parks `from`..`to` and brings them back shifted (`id` to `at`): one move, two statements. */
async function shift(
  tx: DomainContext,
  workflowId: string,
  range: { from: number; to: number },
  move: { id: string | null; at: number | null; shift: number },
): Promise<void> {
  await run(tx, parkSteps, { workflowId, from: range.from, to: range.to });
  await run(tx, unparkSteps, {
    workflowId,
    id: move.id,
    at: move.at,
    shift: move.shift,
    now: new Date(),
  });
}

/** Locks the step's workflow, then reads the step as it is now. */
async function lockedStep(tx: DomainContext, id: string): Promise<Step> {
  const before = await found('step', run(tx, findStep, { id }));
  await lockedWorkflow(tx, before.workflowId);
  return found('step', run(tx, findStep, { id }));
}

/**
 * The steps of the organization's workflows. `step_number` stays 1..n without gaps through every
 * insert, move, reorder and delete; each runs in one transaction holding the workflow's row.
 */
export function createStepsRepository(ctx: DomainContext) {
  return {
    /** The workflow's steps, in order (empty when it has none or is not the organization's). */
    async list(workflowId: string): Promise<Step[]> {
      return listStepsOf(ctx, requireUuid(workflowId, 'workflowId'));
    },

    async get(id: string): Promise<Step> {
      return found('step', run(ctx, findStep, { id: requireUuid(id, 'id') }));
    },

    /**
     * Inserts a step at `position` (default: last); the steps from there on move down one. Its
     * screenshot must be the organization's (else ValidationError on `step.screenshotId`).
     */
    async insert(workflowId: string, step: StepInput, at?: number): Promise<Step> {
      const workflow = requireUuid(workflowId, 'workflowId');
      const values = stepValues(step, 'step');
      return inWorkflow(
        unit(ctx, 'write', async (tx) => {
          await lockedWorkflow(tx, workflow);
          const n = await stepCount(tx, workflow);
          if (n >= MAX_STEP) throw new ValidationError('workflowId', 'has too many steps');
          const p = at === undefined ? n + 1 : requireRange(at, 'position', n + 1);
          if (p <= n)
            await shift(tx, workflow, { from: p, to: n }, { id: null, at: null, shift: 1 });
          const inserted = run(
            tx,
            insertStep,
            Object.assign({ workflowId: workflow }, values, { stepNumber: p }),
          );
          return values.screenshotId === null
            ? inserted
            : linking(inserted, 'step.screenshotId', 'screenshot');
        }),
      );
    },

    /** Moves a step to `position`; the ones between shift by one to keep 1..n. */
    async move(id: string, to: number): Promise<Step[]> {
      const stepId = requireUuid(id, 'id');
      return unit(ctx, 'write', async (tx) => {
        const step = await lockedStep(tx, stepId);
        const target = requireRange(to, 'position', await stepCount(tx, step.workflowId));
        const from = step.stepNumber;
        if (target !== from) {
          await shift(
            tx,
            step.workflowId,
            { from: Math.min(from, target), to: Math.max(from, target) },
            { id: stepId, at: target, shift: target < from ? 1 : -1 },
          );
        }
        return listStepsOf(tx, step.workflowId);
      });
    },

    /** Renumbers every step of the workflow in the order of `stepIds` (all of them, once each). */
    async reorder(workflowId: string, stepIds: string[]): Promise<Step[]> {
      const workflow = requireUuid(workflowId, 'workflowId');
      if (!Array.isArray(stepIds) || stepIds.length > MAX_STEP) {
        throw new ValidationError('stepIds', 'must be an array of step ids');
      }
      const order = stepIds.map((s, i) => requireUuid(s, `stepIds[${i}]`));
      if (new Set(order).size !== order.length) {
        throw new ValidationError('stepIds', 'must name each step once');
      }
      const mismatch = () => new ValidationError('stepIds', 'must name every step of the workflow');
      return unit(ctx, 'write', async (tx) => {
        await lockedWorkflow(tx, workflow);
        const parked = await run(tx, parkSteps, { workflowId: workflow, from: 1, to: MAX_STEP });
        if (parked !== order.length) throw mismatch();
        try {
          await run(tx, renumberSteps, { workflowId: workflow, order, now: new Date() });
        } catch (error) {
          // A parked step missing from the list gets no number: the NOT NULL check refuses it.
          throw error instanceof NotNullViolationError ? mismatch() : error;
        }
        return listStepsOf(tx, workflow);
      });
    },

    /** Deletes a step; the ones after it move up one. False if there was none. */
    async delete(id: string): Promise<boolean> {
      const stepId = requireUuid(id, 'id');
      return unit(ctx, 'write', async (tx) => {
        try {
          await lockedStep(tx, stepId);
        } catch (error) {
          if (error instanceof NotFoundError) return false;
          throw error;
        }
        const gone = await run(tx, deleteStep, { id: stepId });
        if (!gone) return false;
        await shift(
          tx,
          gone.workflowId,
          { from: gone.stepNumber + 1, to: MAX_STEP },
          { id: null, at: null, shift: -1 },
        );
        return true;
      });
    },

    /** An admin's edit of the AI label or instruction: marked edited, with who and when. */
    async edit(
      id: string,
      changes: { fieldLabel?: string | null; instruction?: string | null; editedBy?: string },
    ): Promise<Step> {
      const given = requirePlainObject(changes, 'changes');
      const fieldLabel = optionalText(given.fieldLabel, 'fieldLabel', { max: 1_000 }) ?? null;
      const instruction = optionalText(given.instruction, 'instruction', { max: 10_000 }) ?? null;
      return found(
        'step',
        run(ctx, editStep, {
          id: requireUuid(id, 'id'),
          owner: given.editedBy == null ? undefined : requireUuid(given.editedBy, 'editedBy'),
          fieldLabel,
          instruction,
          labelGiven: fieldLabel !== null,
          instructionGiven: instruction !== null,
          now: new Date(),
        }),
      );
    },

    /** Records selectors found by auto-healing, with its confidence (0..1) and method. */
    async recordHealing(
      id: string,
      healing: { selectors: StepJson; confidence: number; method: string },
    ): Promise<Step> {
      const given = requirePlainObject(healing, 'healing');
      const confidence = given.confidence;
      if (typeof confidence !== 'number' || !(confidence >= 0 && confidence <= 1)) {
        throw new ValidationError('confidence', 'must be a number from 0 to 1');
      }
      return found(
        'step',
        run(ctx, healStep, {
          id: requireUuid(id, 'id'),
          healedSelectors: requirePlainObject(given.selectors, 'selectors'),
          healingConfidence: confidence,
          healingMethod: requireText(given.method, 'method', { max: 100 }),
          now: new Date(),
        }),
      );
    },
  };
}

export type StepsRepository = ReturnType<typeof createStepsRepository>;
