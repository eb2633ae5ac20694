import {
  type DomainContext,
  found,
  PreconditionError,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
} from '@exora/core';
import { dashboardData } from '@exora/insights/schema';
import { oauthTokens } from '@exora/vault/schema';
import { and, asc, eq, isNull } from 'drizzle-orm';
import {
  type UserWorkflowInstance,
  userWorkflowInstances,
} from '../schema/user-workflow-instances.ts';
import { workflowTemplates } from '../schema/workflow-templates.ts';

/** The template needs OAuth grants the user has not given (or has revoked). */
export class MissingOAuthGrantError extends PreconditionError {
  override name = 'MissingOAuthGrantError';
  constructor(readonly providers: readonly string[]) {
    super(`Connect ${providers.join(', ')} first: the workflow needs a live OAuth grant for each`);
  }
}

const findTemplate = statement.maybe(
  'userWorkflowInstances.template',
  workflowTemplates,
  ['templateId'],
  ({ db, t, $ }) =>
    db
      .select({ id: t.id, name: t.name, requiredProviders: t.requiredProviders })
      .from(t)
      .where(and(eq(t.id, $.templateId), eq(t.isActive, true))),
);

const liveProviders = statement.many(
  'userWorkflowInstances.liveGrants',
  oauthTokens,
  [],
  ({ db, t, owned }) =>
    db
      .select({ provider: t.provider })
      .from(t)
      .where(and(owned(), isNull(t.revokedAt))),
);

/** Activating again (after a deactivation) reuses the row: one instance per user and template. */
const upsertInstance = statement.one(
  'userWorkflowInstances.activate',
  userWorkflowInstances,
  ['templateId', 'n8nWorkflowId', 'config', 'now'],
  ({ db, t, $, owner, excluded }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        templateId: $.templateId,
        n8nWorkflowId: $.n8nWorkflowId,
        config: $.config,
        status: 'active',
        activatedAt: $.now,
      })
      .onConflictDoUpdate({
        target: [t.userId, t.templateId],
        set: {
          n8nWorkflowId: excluded(t.n8nWorkflowId),
          config: excluded(t.config),
          status: 'active',
          activatedAt: excluded(t.activatedAt),
          deactivatedAt: null,
        },
      })
      .returning(),
);

/** Puts the workflow on the user's dashboard (replacing an older entry for the same instance). */
const putOnDashboard = statement.count(
  'userWorkflowInstances.putOnDashboard',
  dashboardData,
  ['instanceId', 'entry'],
  ({ db, t, $, owner, fn }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        workflows: fn.jsonArrayOf($.entry) as never,
      })
      .onConflictDoUpdate({
        target: t.userId,
        set: { workflows: fn.jsonArrayPutBy(t.workflows, 'instanceId', $.instanceId, $.entry) },
      }),
);

const deactivateInstance = statement.maybe(
  'userWorkflowInstances.deactivate',
  userWorkflowInstances,
  ['id', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: 'inactive', deactivatedAt: $.bind(t.deactivatedAt, 'now') })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

const takeOffDashboard = statement.count(
  'userWorkflowInstances.takeOffDashboard',
  dashboardData,
  ['instanceId'],
  ({ db, t, $, owned, fn }) =>
    db
      .update(t)
      .set({ workflows: fn.jsonArrayRemoveBy(t.workflows, 'instanceId', $.instanceId) })
      .where(owned()),
);

const listInstances = statement.many(
  'userWorkflowInstances.list',
  userWorkflowInstances,
  [],
  ({ db, t, owned }) => db.select().from(t).where(owned()).orderBy(asc(t.createdAt), asc(t.id)),
  { stale: true },
);

export interface ActivateWorkflowInput {
  templateId: string;
  /** The n8n workflow created for this user. */
  n8nWorkflowId: string;
  config?: Record<string, unknown>;
}

/** Which catalog workflow runs for the user, on which n8n workflow. */
export function createUserWorkflowInstancesRepository(ctx: DomainContext) {
  return {
    /**
     * Activates a catalog workflow for the user, all or nothing: every provider the template
     * needs must have a live OAuth grant (else `MissingOAuthGrantError` naming them), then the
     * instance is created (or re-activated) and put on the user's dashboard.
     */
    async activate(input: ActivateWorkflowInput, userId?: string): Promise<UserWorkflowInstance> {
      const given = requirePlainObject(input, 'input');
      const templateId = requireUuid(given.templateId, 'templateId');
      const n8nWorkflowId = requireText(given.n8nWorkflowId, 'n8nWorkflowId', { max: 200 });
      const config = given.config === undefined ? {} : requirePlainObject(given.config, 'config');
      return unit(ctx, 'write', async (tx) => {
        const template = await found('workflow template', run(tx, findTemplate, { templateId }));
        const live = new Set(
          (await run(tx, liveProviders, { owner: userId })).map((g) => g.provider),
        );
        const missing = template.requiredProviders.filter((p) => !live.has(p));
        if (missing.length > 0) throw new MissingOAuthGrantError(missing);
        const now = new Date();
        const instance = await run(tx, upsertInstance, {
          owner: userId,
          templateId,
          n8nWorkflowId,
          config,
          now,
        });
        await run(tx, putOnDashboard, {
          owner: userId,
          instanceId: instance.id,
          entry: JSON.stringify({
            instanceId: instance.id,
            templateId,
            name: template.name,
            addedAt: now.toISOString(),
          }),
        });
        return instance;
      });
    },

    /** Deactivates the user's instance and takes it off the dashboard, all or nothing. */
    async deactivate(instanceId: string): Promise<UserWorkflowInstance> {
      const id = requireUuid(instanceId, 'instanceId');
      return unit(ctx, 'write', async (tx) => {
        const instance = await found(
          'workflow instance',
          run(tx, deactivateInstance, { id, now: new Date() }),
        );
        await run(tx, takeOffDashboard, { instanceId: id });
        return instance;
      });
    },

    list(): Promise<UserWorkflowInstance[]> {
      return run(ctx, listInstances, {});
    },
  };
}
