import {
  type AnyTable,
  type BuildContext,
  type DomainContext,
  ForeignKeyViolationError,
  NotFoundError,
  NotNullViolationError,
  PermissionError,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, eq, inArray, type Placeholder, type SQL, sql } from 'drizzle-orm';
import { notifications } from '../schema/notifications.ts';
import { type RecordedWorkflowStatus, workflows } from '../schema/workflows.ts';

/** An integer from 1 to `max` (a position, a page size), or a ValidationError naming `field`. */
export function requireRange(value: unknown, field: string, max: number): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) {
    throw new ValidationError(field, `must be an integer from 1 to ${max}`);
  }
  return value as number;
}

/** Failures in a row after which an active (or needs-review) workflow turns `broken`. */
export const BROKEN_AFTER_FAILURES = 3;

/**
 * A write of a row that belongs to a workflow: its organization is taken from the workflow (see
 * `organizationOfWorkflow`), so a null one, like a foreign-key miss on the (workflow,
 * organization) pair, means the workflow is not the actor's organization's (or not there).
 */
export async function inWorkflow<T>(call: Promise<T>, entity = 'workflow'): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (
      error instanceof ForeignKeyViolationError ||
      (error instanceof NotNullViolationError && error.column === 'organization_id')
    ) {
      throw new NotFoundError(entity);
    }
    throw error;
  }
}

/**
 * An insert that links another row of the organization by id (a step's screenshot, a log's
 * step), run once its workflow is known to be the organization's: a foreign-key miss then means
 * the linked row is not the organization's, or not there. Both get the same answer, so it never
 * tells whether another organization has that row.
 */
export async function linking<T>(call: Promise<T>, field: string, entity: string): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ForeignKeyViolationError) {
      throw new ValidationError(field, `must name a ${entity} of the organization`);
    }
    throw error;
  }
}

/**
 * A write of a row in the actor's organization: a null organization means the actor belongs to
 * none (a service must name one); a foreign-key miss, a workflow it may not see.
 */
export async function asMember<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof NotNullViolationError && error.column === 'organization_id') {
      throw new PermissionError('Only members of an organization may do this');
    }
    if (error instanceof ForeignKeyViolationError) throw new NotFoundError('workflow');
    throw error;
  }
}

/**
 * The organization of the workflow `id` if the actor may see it, else the actor's own (SQL, for
 * insert values): a workflow of another organization then fails the foreign key on the
 * (workflow, organization) pair, on both dialects and before any row-level policy.
 */
export function organizationOfWorkflow(
  q: Pick<BuildContext<AnyTable, string>, 'table' | 'owned' | 'actorOrganization'>,
  id: Placeholder,
): SQL {
  const w = q.table(workflows);
  return sql`coalesce((select ${w.organizationId} from ${w} where ${w.id} = ${id} and ${q.owned(w)}), ${q.actorOrganization()})`;
}

/**
 * Touches the workflow (the organization's): on Postgres this locks its row until the
 * transaction ends, so step moves and run statistics of one workflow happen one at a time.
 */
const lockWorkflow = statement.maybe(
  'recorder.lockWorkflow',
  workflows,
  ['workflowId', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ updatedAt: $.bind(t.updatedAt, 'now') })
      .where(and(eq(t.id, $.workflowId), owned()))
      .returning({ id: t.id }),
);

/** Locks the organization's workflow for the rest of the unit, or NotFoundError. */
export async function lockedWorkflow(tx: DomainContext, workflowId: string): Promise<void> {
  const row = await run(tx, lockWorkflow, { workflowId, now: new Date() });
  if (!row) throw new NotFoundError('workflow');
}

const LIVE: RecordedWorkflowStatus[] = ['active', 'needs_review'];

/**
 * Sets the status when it differs, the consecutive failures reach `minFailures` and (unless
 * `fromAny`) the workflow is live. The condition is part of the update, so of two concurrent
 * callers only one sees the change: the one that raises the notification.
 */
const changeStatus = statement.maybe(
  'recorder.changeStatus',
  workflows,
  ['workflowId', 'status', 'minFailures', 'fromAny', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({ status: $.bind(t.status, 'status'), updatedAt: $.bind(t.updatedAt, 'now') })
      .where(
        and(
          eq(t.id, $.workflowId),
          owned(),
          sql`${t.status} <> ${$.bind(t.status, 'status')}`,
          sql`${t.consecutiveFailures} >= ${$.minFailures}`,
          sql`(${$.fromAny} = ${true} or ${inArray(t.status, LIVE)})`,
        ),
      )
      .returning(),
);

const raise = statement.one(
  'recorder.raiseNotification',
  notifications,
  ['workflowId', 'type', 'severity', 'title', 'message', 'actionUrl'],
  (q) => {
    const { db, t, $ } = q;
    return db
      .insert(t)
      .values({
        organizationId: organizationOfWorkflow(q, $.workflowId),
        workflowId: $.workflowId,
        type: $.type,
        severity: $.severity,
        title: $.title,
        message: $.message,
        actionUrl: $.actionUrl,
      })
      .returning();
  },
);

export interface NotificationInput {
  type: string;
  severity: 'info' | 'warning' | 'error';
  title: string;
  message: string;
  actionUrl: string | null;
}

/** Raises a notification about one of the organization's workflows. */
export function raiseNotification(tx: DomainContext, workflowId: string, input: NotificationInput) {
  return inWorkflow(
    run(tx, raise, {
      workflowId,
      type: input.type,
      severity: input.severity,
      title: input.title,
      message: input.message,
      actionUrl: input.actionUrl,
    }),
  );
}

/**
 * Moves the workflow to `status` (see `changeStatus`); when that makes it `broken`, raises the
 * error notification in the same unit. Returns the changed row, or null when nothing changed.
 */
export async function transition(
  tx: DomainContext,
  workflowId: string,
  status: RecordedWorkflowStatus,
  rule: { minFailures: number; fromAny: boolean },
) {
  const row = await run(tx, changeStatus, {
    workflowId,
    status,
    minFailures: rule.minFailures,
    fromAny: rule.fromAny,
    now: new Date(),
  });
  if (row?.status === 'broken') {
    await raiseNotification(tx, workflowId, {
      type: 'workflow_broken',
      severity: 'error',
      title: `Workflow "${row.name}" is broken`,
      message:
        row.consecutiveFailures > 0
          ? `It failed ${row.consecutiveFailures} times in a row and needs review.`
          : 'It was marked broken and needs review.',
      actionUrl: null,
    });
  }
  return row;
}
