import {
  type DomainContext,
  found,
  keyset,
  optionalText,
  ownedRow,
  type Page,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, sql } from 'drizzle-orm';
import { type AgentLog, agentLogs } from '../schema/agent-logs.ts';
import { MAX_CHAIN_LENGTH, type Project, projects } from '../schema/projects.ts';
import { objectOr, parentOf } from './internal.ts';

const createProject = statement.one(
  'projects.create',
  projects,
  ['name', 'description', 'prompt', 'totalSteps', 'metadata'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        userId: owner,
        name: $.name,
        description: $.description,
        prompt: $.prompt,
        totalSteps: $.totalSteps,
        metadata: $.metadata,
      })
      .returning(),
);

const findProject = ownedRow.find('projects.find', projects);

const listPage = keyset.newestFirst('projects.list', projects, { stale: true });

/**
 * The first statement of every step change: it locks the project's row (and names the agent now
 * at work), so two steps of one project ending at once are counted one after the other.
 */
const lockForStart = ownedRow.set('projects.lockForStart', projects, 'currentAgent');

/** The same lock, found through one of the project's steps. */
const lockForFinish = statement.maybe(
  'projects.lockForFinish',
  projects,
  ['stepId'],
  ({ db, t, $, owned, table }) => {
    const logs = table(agentLogs);
    return db
      .update(t)
      .set({ progress: sql`${t.progress}` })
      .where(
        and(
          eq(t.id, sql`(select ${logs.projectId} from ${logs} where ${logs.id} = ${$.stepId})`),
          owned(),
        ),
      )
      .returning({ id: t.id });
  },
);

const insertStep = statement.one(
  'agentLogs.start',
  agentLogs,
  ['projectId', 'stepNumber', 'agentName', 'input', 'now'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        projectId: $.projectId,
        userId: owner,
        stepNumber: $.stepNumber,
        agentName: $.agentName,
        input: $.input,
        startedAt: $.now,
      })
      .returning(),
);

const findStep = ownedRow.find('agentLogs.find', agentLogs);

/** Ends a running step; a step that already ended is left as it is (no row). */
const endStep = statement.maybe(
  'agentLogs.finish',
  agentLogs,
  ['id', 'status', 'output', 'error', 'now', 'durationMs'],
  ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        status: $.bind(t.status, 'status'),
        output: $.bind(t.output, 'output'),
        error: $.bind(t.error, 'error'),
        completedAt: $.bind(t.completedAt, 'now'),
        durationMs: $.bind(t.durationMs, 'durationMs'),
      })
      .where(and(eq(t.id, $.id), eq(t.status, 'running'), owned()))
      .returning(),
);

const listSteps = statement.many(
  'agentLogs.listForProject',
  agentLogs,
  ['projectId'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(eq(t.projectId, $.projectId), owned()))
      .orderBy(asc(t.stepNumber), asc(t.startedAt), asc(t.id)),
  { stale: true },
);

/**
 * Status, progress and completion derived from the project's steps: progress is the share of
 * the chain's steps with a completed attempt; a project is `completed` when every step has one,
 * `running` while a step runs (or between steps), `failed` when a step failed and no later
 * attempt of it completed, `pending` before its first step.
 */
const refreshProject = statement.one(
  'projects.refresh',
  projects,
  ['id', 'now'],
  ({ db, t, $, owned, table }) => {
    const l = table(agentLogs);
    const done = sql`(select count(distinct ${l.stepNumber}) from ${l} where ${l.projectId} = ${t.id} and ${l.status} = 'completed')`;
    const running = sql`exists (select 1 from ${l} where ${l.projectId} = ${t.id} and ${l.status} = 'running')`;
    // The inner query names the table itself, so it needs an alias of its own.
    const failed = sql`exists (select 1 from ${l} where ${l.projectId} = ${t.id} and ${l.status} = 'failed' and not exists (select 1 from ${l} retry where retry.project_id = ${l.projectId} and retry.step_number = ${l.stepNumber} and retry.status = 'completed'))`;
    const complete = sql`${done} >= ${t.totalSteps}`;
    return db
      .update(t)
      .set({
        progress: sql`(case when ${complete} then 100 else ${done} * 100 / ${t.totalSteps} end)`,
        status: sql`(case when ${complete} then 'completed' when ${running} then 'running' when ${failed} then 'failed' when ${done} > 0 then 'running' else 'pending' end)`,
        completedAt: sql`(case when ${complete} then coalesce(${t.completedAt}, ${$.bind(t.completedAt, 'now')}) else null end)`,
      })
      .where(and(eq(t.id, $.id), owned()))
      .returning();
  },
);

export interface CreateProjectInput {
  name: string;
  /** How many agents the chain has (each a step): 1 to 100. */
  totalSteps: number;
  description?: string | null;
  prompt?: string | null;
  metadata?: Record<string, unknown>;
}

export interface StartStepInput {
  /** The agent's place in the chain, from 1 to the project's `totalSteps`. */
  stepNumber: number;
  agentName: string;
  input?: unknown;
}

/** How a step ended: its output, or the error it failed with. */
export type StepResult = { output: unknown; error?: undefined } | { error: string };

export type ProjectPage = Page<Project>;

/** Projects and their agent chains: start a step, end it, the project's progress follows. */
export function createProjectsRepository(ctx: DomainContext) {
  return {
    /** A new project, `pending` at 0 % (a service names the user). */
    async create(input: CreateProjectInput, userId?: string): Promise<Project> {
      const given = requirePlainObject(input, 'input');
      const totalSteps = given.totalSteps;
      if (
        typeof totalSteps !== 'number' ||
        !Number.isInteger(totalSteps) ||
        totalSteps < 1 ||
        totalSteps > MAX_CHAIN_LENGTH
      ) {
        throw new ValidationError('totalSteps', `must be an integer from 1 to ${MAX_CHAIN_LENGTH}`);
      }
      return run(ctx, createProject, {
        owner: userId,
        name: requireText(given.name, 'name', { max: 200 }),
        description: optionalText(given.description, 'description', { max: 10_000 }) ?? null,
        prompt: optionalText(given.prompt, 'prompt', { max: 100_000 }) ?? null,
        totalSteps,
        metadata: objectOr(given.metadata, 'metadata'),
      });
    },

    /** One of the actor's projects, or NotFoundError. */
    async get(projectId: string): Promise<Project> {
      return found('project', run(ctx, findProject, { id: requireUuid(projectId, 'projectId') }));
    },

    /** Newest first, `limit` (default 20, at most 100) per page, from `cursor` on. */
    async list(options: { limit?: number; cursor?: string | null } = {}): Promise<ProjectPage> {
      return keyset.list(ctx, listPage, options);
    },

    /**
     * Starts an agent of the chain (again, after a failed attempt): a `running` step; the
     * project becomes `running` with this agent as its current one.
     */
    async startStep(
      projectId: string,
      input: StartStepInput,
    ): Promise<{ step: AgentLog; project: Project }> {
      const id = requireUuid(projectId, 'projectId');
      const given = requirePlainObject(input, 'input');
      const stepNumber = given.stepNumber;
      if (typeof stepNumber !== 'number' || !Number.isInteger(stepNumber) || stepNumber < 1) {
        throw new ValidationError('stepNumber', 'must be a positive integer');
      }
      const agentName = requireText(given.agentName, 'agentName', { max: 200 });
      const now = new Date();
      return unit(ctx, 'write', async (tx) => {
        const project = await found(
          'project',
          run(tx, lockForStart, { id, currentAgent: agentName }),
        );
        if (stepNumber > project.totalSteps) {
          throw new ValidationError('stepNumber', "must not exceed the project's totalSteps");
        }
        if (project.status === 'completed') {
          throw new ValidationError('projectId', 'the project is already completed');
        }
        const step = await parentOf(
          'project',
          run(tx, insertStep, {
            projectId: id,
            stepNumber,
            agentName,
            input: given.input ?? null,
            now,
          }),
        );
        return { step, project: await run(tx, refreshProject, { id, now }) };
      });
    },

    /**
     * Ends a running step with its output, or with the error it failed with; returns the step
     * and the project with its progress and status derived again.
     */
    async finishStep(
      stepId: string,
      result: StepResult,
    ): Promise<{ step: AgentLog; project: Project }> {
      const id = requireUuid(stepId, 'stepId');
      const given = requirePlainObject(result, 'result');
      const failed = given.error !== undefined;
      const error = failed ? requireText(given.error, 'error', { max: 100_000 }) : null;
      if (!failed && !('output' in given)) {
        throw new ValidationError('result', 'must give output or error');
      }
      const now = new Date();
      return unit(ctx, 'write', async (tx) => {
        const project = await found('agent step', run(tx, lockForFinish, { stepId: id }));
        const running = await found('agent step', run(tx, findStep, { id }));
        const step = await run(tx, endStep, {
          id,
          status: failed ? 'failed' : 'completed',
          output: failed ? null : (given.output ?? null),
          error,
          now,
          durationMs: Math.max(0, now.getTime() - running.startedAt.getTime()),
        });
        if (!step) throw new ValidationError('stepId', 'the step has already finished');
        return { step, project: await run(tx, refreshProject, { id: project.id, now }) };
      });
    },

    /** A project's steps in chain order (attempts of one step by start time). */
    async steps(projectId: string): Promise<AgentLog[]> {
      return run(ctx, listSteps, { projectId: requireUuid(projectId, 'projectId') });
    },
  };
}

export type ProjectsRepository = ReturnType<typeof createProjectsRepository>;
