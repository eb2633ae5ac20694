import { actAs, ownedBy, requirePlainObject, requireText, subjectOf } from '@exora/core';
import { and, eq } from 'drizzle-orm';
import type { DomainContext } from '../context.ts';
import { type SetupProgress, setupProgress } from '../schema/setup-progress.ts';

/** Seed 000's setup progress: a user's onboarding steps. */
export function createSetupProgressRepository(ctx: DomainContext) {
  const { actor } = ctx;
  const subject = (userId?: string) => subjectOf(actor, userId);

  return {
    async get(userId?: string): Promise<SetupProgress | null> {
      const who = subject(userId);
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(setupProgress);
        const [row] = await tx.db
          .select()
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)));
        return row ?? null;
      });
    },

    /**
     * Marks `step` done, moves to `nextStep` (or marks setup complete when there is none) and
     * merges `data` into the stored data. Creates the row on first use.
     */
    async completeStep(
      input: { step: string; nextStep?: string | null; data?: Record<string, unknown> },
      userId?: string,
    ): Promise<SetupProgress> {
      const who = subject(userId);
      const step = requireText(input.step, 'step', { max: 100 });
      const nextStep =
        input.nextStep == null ? null : requireText(input.nextStep, 'nextStep', { max: 100 });
      const data = input.data === undefined ? {} : requirePlainObject(input.data, 'data');
      return actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(setupProgress);
        const [current] = await tx.db
          .select()
          .from(t)
          .where(and(eq(t.userId, who), ownedBy(actor, t.userId)));
        const completedSteps = [...new Set([...(current?.completedSteps ?? []), step])];
        const values = {
          currentStep: nextStep ?? step,
          completedSteps,
          data: { ...(current?.data ?? {}), ...data },
          isComplete: nextStep === null,
          completedAt: nextStep === null ? new Date() : null,
        };
        const [row] = await tx.db
          .insert(t)
          .values({ userId: who, ...values })
          .onConflictDoUpdate({ target: t.userId, set: { ...values, updatedAt: new Date() } })
          .returning();
        return row!;
      });
    },
  };
}

export type SetupProgressRepository = ReturnType<typeof createSetupProgressRepository>;
