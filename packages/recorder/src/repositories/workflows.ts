import {
  type DomainContext,
  found,
  optionalText,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { and, desc, eq, sql } from 'drizzle-orm';
import type { Step } from '../schema/steps.ts';
import {
  RECORDED_WORKFLOW_STATUSES,
  type RecordedWorkflow,
  type RecordedWorkflowStatus,
  workflows,
} from '../schema/workflows.ts';
import { asMember, requireRange, transition } from './internal.ts';
import { insertSteps, listStepsOf, type StepInput, stepValues } from './steps.ts';

const insertWorkflow = statement.one(
  'workflows.record',
  workflows,
  ['createdBy', 'name', 'description', 'startingUrl', 'status', 'tags'],
  ({ db, t, $, actorOrganization }) =>
    db
      .insert(t)
      .values({
        organizationId: actorOrganization(),
        createdBy: $.createdBy,
        name: $.name,
        description: $.description,
        startingUrl: $.startingUrl,
        status: $.status,
        tags: $.tags,
      })
      .returning(),
);

const findWorkflow = statement.maybe('workflows.find', workflows, ['id'], ({ db, t, $, owned }) =>
  db
    .select()
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

const listWorkflows = statement.many(
  'workflows.list',
  workflows,
  ['status', 'limit'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), sql`${t.status} = coalesce(${$.status}, ${t.status})`))
      .orderBy(desc(t.createdAt), desc(t.id))
      .limit($.limit),
  { stale: true },
);

const updateDetails = statement.maybe(
  'workflows.update',
  workflows,
  ['id', 'name', 'description', 'tags', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        name: sql`coalesce(${$.name}, ${t.name})`,
        description: sql`coalesce(${$.description}, ${t.description})`,
        tags: sql`coalesce(${$.bind(t.tags, 'tags')}, ${t.tags})`,
        updatedAt: $.bind(t.updatedAt, 'now'),
      })
      .where(and(eq(t.id, $.id), owned()))
      .returning(),
);

const deleteWorkflow = statement.count(
  'workflows.delete',
  workflows,
  ['id'],
  ({ db, t, $, owned }) => db.delete(t).where(and(eq(t.id, $.id), owned())),
);

function tagsOf(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 50) {
    throw new ValidationError('tags', 'must be an array of at most 50 strings');
  }
  return value.map((tag, i) => requireText(tag, `tags[${i}]`, { max: 100 }));
}

export interface RecordWorkflowInput {
  name: string;
  description?: string | null;
  startingUrl?: string | null;
  status?: RecordedWorkflowStatus;
  tags?: string[];
  steps?: StepInput[];
  /** A service names the organization (a user records in their own). */
  organizationId?: string;
  /** A service names who recorded it (a user is the recorder). */
  createdBy?: string | null;
}

/** Recorded workflows of the actor's organization. */
export function createRecordedWorkflowsRepository(ctx: DomainContext) {
  const { actor } = ctx;
  return {
    /** Stores a recorded workflow and its steps (numbered 1..n in the given order) at once. */
    async record(
      input: RecordWorkflowInput,
    ): Promise<{ workflow: RecordedWorkflow; steps: Step[] }> {
      const given = requirePlainObject(input, 'input');
      const list = given.steps === undefined ? [] : given.steps;
      if (!Array.isArray(list) || list.length > 10_000) {
        throw new ValidationError('steps', 'must be an array of at most 10000 steps');
      }
      const rows = list.map((s, i) => stepValues(s, `steps[${i}]`));
      const params = {
        organizationId:
          actor.kind === 'service' ? requireUuid(given.organizationId, 'organizationId') : null,
        createdBy:
          actor.kind === 'user'
            ? actor.userId
            : given.createdBy == null
              ? null
              : requireUuid(given.createdBy, 'createdBy'),
        name: requireText(given.name, 'name', { max: 500 }),
        description: optionalText(given.description, 'description', { max: 10_000 }) ?? null,
        startingUrl: optionalText(given.startingUrl, 'startingUrl', { max: 4_000 }) ?? null,
        status:
          given.status === undefined
            ? 'draft'
            : requireOneOf(given.status, 'status', RECORDED_WORKFLOW_STATUSES),
        tags: given.tags === undefined ? [] : tagsOf(given.tags),
      };
      return asMember(
        unit(ctx, 'write', async (tx) => {
          const workflow = await run(tx, insertWorkflow, params);
          if (rows.length === 0) return { workflow, steps: [] };
          await insertSteps(tx, workflow.id, rows);
          return { workflow, steps: await listStepsOf(tx, workflow.id) };
        }),
      );
    },

    /** The organization's workflow, or NotFoundError. */
    async get(id: string): Promise<RecordedWorkflow> {
      return found('workflow', run(ctx, findWorkflow, { id: requireUuid(id, 'id') }));
    },

    /** Newest first; one status only when asked; `limit` (default 50) at most 200. */
    async list(
      options: { status?: RecordedWorkflowStatus; limit?: number; organizationId?: string } = {},
    ): Promise<RecordedWorkflow[]> {
      const limit = options.limit ?? 50;
      requireRange(limit, 'limit', 200);
      return run(ctx, listWorkflows, {
        organizationId: options.organizationId,
        status:
          options.status === undefined
            ? null
            : requireOneOf(options.status, 'status', RECORDED_WORKFLOW_STATUSES),
        limit,
      });
    },

    /** Renames, describes or retags (left-out fields stay). */
    async update(
      id: string,
      changes: { name?: string; description?: string | null; tags?: string[] },
    ): Promise<RecordedWorkflow> {
      const given = requirePlainObject(changes, 'changes');
      return found(
        'workflow',
        run(ctx, updateDetails, {
          id: requireUuid(id, 'id'),
          name: given.name === undefined ? null : requireText(given.name, 'name', { max: 500 }),
          description: optionalText(given.description, 'description', { max: 10_000 }) ?? null,
          tags: given.tags === undefined ? null : tagsOf(given.tags),
          now: new Date(),
        }),
      );
    },

    /**
     * Sets the status. Turning `broken` raises an error notification for the organization in
     * the same transaction (once: setting it again changes nothing).
     */
    async setStatus(id: string, status: RecordedWorkflowStatus): Promise<RecordedWorkflow> {
      const workflowId = requireUuid(id, 'id');
      const to = requireOneOf(status, 'status', RECORDED_WORKFLOW_STATUSES);
      return unit(ctx, 'write', async (tx) => {
        const changed = await transition(tx, workflowId, to, { minFailures: 0, fromAny: true });
        return changed ?? found('workflow', run(tx, findWorkflow, { id: workflowId }));
      });
    },

    /** Deletes it with its steps, screenshots, health logs and notifications; false if none. */
    async delete(id: string): Promise<boolean> {
      return (await run(ctx, deleteWorkflow, { id: requireUuid(id, 'id') })) > 0;
    },
  };
}

export type RecordedWorkflowsRepository = ReturnType<typeof createRecordedWorkflowsRepository>;
