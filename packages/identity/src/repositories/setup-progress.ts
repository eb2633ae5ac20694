import { type DomainContext, requirePlainObject, requireText, run, statement } from '@exora/core';
import { type SetupProgress, setupProgress } from '../schema/setup-progress.ts';

const findProgress = statement.maybe('setupProgress.get', setupProgress, [], ({ db, t, owned }) =>
  db.select().from(t).where(owned()),
);

/** One statement: concurrent calls for one user each add their step (no lost update). */
const completeStepStatement = statement.one(
  'setupProgress.completeStep',
  setupProgress,
  ['currentStep', 'isComplete', 'completedAt', 'step', 'now', 'steps', 'data'],
  ({ db, t, $, owner, fn }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        currentStep: $.currentStep,
        completedSteps: $.bind(t.completedSteps, 'steps'),
        data: $.bind(t.data, 'data'),
        isComplete: $.isComplete,
        completedAt: $.completedAt,
      })
      .onConflictDoUpdate({
        target: t.userId,
        set: {
          currentStep: $.bind(t.currentStep, 'currentStep'),
          completedSteps: fn.arrayAppendDistinct(t.completedSteps, $.step),
          data: fn.jsonMerge(t.data, $.bind(t.data, 'data')),
          isComplete: $.bind(t.isComplete, 'isComplete'),
          completedAt: $.bind(t.completedAt, 'completedAt'),
          updatedAt: $.bind(t.updatedAt, 'now'),
        },
      })
      .returning(),
);

/** A user's onboarding steps. One row per user. */
export function createSetupProgressRepository(ctx: DomainContext) {
  return {
    async get(userId?: string): Promise<SetupProgress | null> {
      return run(ctx, findProgress, { owner: userId });
    },

    /**
     * Marks `step` done, moves to `nextStep` (or marks setup complete when there is none) and
     * merges `data` into the stored data. Creates the row on first use.
     */
    async completeStep(
      input: { step: string; nextStep?: string | null; data?: Record<string, unknown> },
      userId?: string,
    ): Promise<SetupProgress> {
      const given = requirePlainObject(input, 'input');
      const step = requireText(given.step, 'step', { max: 100 });
      const nextStep =
        given.nextStep == null ? null : requireText(given.nextStep, 'nextStep', { max: 100 });
      const data = given.data === undefined ? {} : requirePlainObject(given.data, 'data');
      const now = new Date();
      return run(ctx, completeStepStatement, {
        owner: userId,
        step,
        steps: [step],
        currentStep: nextStep ?? step,
        data,
        isComplete: nextStep === null,
        completedAt: nextStep === null ? now : null,
        now,
      });
    },
  };
}

export type SetupProgressRepository = ReturnType<typeof createSetupProgressRepository>;
