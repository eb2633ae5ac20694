import {
  type DomainContext,
  found,
  optionalText,
  ownedRow,
  requireOneOf,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, eq, notInArray, sql } from 'drizzle-orm';
import {
  type DeploymentLog,
  type DeploymentStatus,
  deploymentLogs,
  FINAL_DEPLOYMENT_STATUSES,
} from '../schema/deployment-logs.ts';
import { limitOf, objectOr, parentOf } from './internal.ts';

const createDeployment = statement.one(
  'deploymentLogs.record',
  deploymentLogs,
  ['projectId', 'provider', 'metadata'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({ projectId: $.projectId, userId: owner, provider: $.provider, metadata: $.metadata })
      .returning(),
);

const findDeployment = ownedRow.find('deploymentLogs.find', deploymentLogs);

/**
 * Moves a deployment that has not ended to a new status, appending the log text; the URL is
 * kept unless a new one is given; `deployed_at` is set when it becomes `deployed`.
 */
const moveDeployment = statement.maybe(
  'deploymentLogs.setStatus',
  deploymentLogs,
  ['id', 'status', 'url', 'log', 'error', 'now'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        status: $.bind(t.status, 'status'),
        url: sql`coalesce(${$.bind(t.url, 'url')}, ${t.url})`,
        logs: sql`${t.logs} || ${$.log}`,
        error: $.bind(t.error, 'error'),
        deployedAt: sql`(case when ${$.bind(t.status, 'status')} = 'deployed' then ${$.bind(t.deployedAt, 'now')} else ${t.deployedAt} end)`,
      })
      .where(and(eq(t.id, $.id), notInArray(t.status, [...FINAL_DEPLOYMENT_STATUSES]), owned()))
      .returning(),
);

const listForProject = ownedRow.listFor(
  'deploymentLogs.listForProject',
  deploymentLogs,
  'projectId',
  'newest',
);

const NEXT_STATUSES = ['building', 'deployed', 'failed'] as const;

export interface SetDeploymentStatusInput {
  status: Exclude<DeploymentStatus, 'pending'>;
  /** Where the deployment is served (kept when left out). */
  url?: string | null;
  /** Provider log text to append (a line break is added). */
  log?: string | null;
  /** Why it failed. */
  error?: string | null;
}

/** Deployments of projects to hosting providers, and their status as it changes. */
export function createDeploymentLogsRepository(ctx: DomainContext) {
  return {
    /** Records a new `pending` deployment of one of the user's projects. */
    async record(
      input: { projectId: string; provider: string; metadata?: Record<string, unknown> },
      userId?: string,
    ): Promise<DeploymentLog> {
      const given = requirePlainObject(input, 'input');
      return parentOf(
        'project',
        run(ctx, createDeployment, {
          owner: userId,
          projectId: requireUuid(given.projectId, 'projectId'),
          provider: requireText(given.provider, 'provider', { max: 100 }),
          metadata: objectOr(given.metadata, 'metadata'),
        }),
      );
    },

    async get(deploymentId: string): Promise<DeploymentLog> {
      const id = requireUuid(deploymentId, 'deploymentId');
      return found('deployment', run(ctx, findDeployment, { id }));
    },

    /**
     * Moves a deployment on (`building`, then `deployed` or `failed`); one that has ended does
     * not move again (ValidationError).
     */
    async setStatus(deploymentId: string, input: SetDeploymentStatusInput): Promise<DeploymentLog> {
      const id = requireUuid(deploymentId, 'deploymentId');
      const given = requirePlainObject(input, 'input');
      const log = optionalText(given.log, 'log', { max: 1_000_000 });
      const moved = await run(ctx, moveDeployment, {
        id,
        status: requireOneOf(given.status, 'status', NEXT_STATUSES),
        url: optionalText(given.url, 'url', { max: 2000 }) ?? null,
        log: log ? `${log}\n` : '',
        error: optionalText(given.error, 'error', { max: 100_000 }) ?? null,
        now: new Date(),
      });
      if (moved) return moved;
      await found('deployment', run(ctx, findDeployment, { id }));
      throw new ValidationError('status', 'the deployment has already ended');
    },

    /** A project's deployments, newest first (at most `limit`, default 50). */
    async listForProject(
      projectId: string,
      options: { limit?: number } = {},
    ): Promise<DeploymentLog[]> {
      return run(ctx, listForProject, {
        projectId: requireUuid(projectId, 'projectId'),
        limit: limitOf(options.limit, 50, 500),
      });
    },
  };
}

export type DeploymentLogsRepository = ReturnType<typeof createDeploymentLogsRepository>;
