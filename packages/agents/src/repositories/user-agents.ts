import {
  type DomainContext,
  found,
  NotFoundError,
  NotNullViolationError,
  optionalText,
  requirePlainObject,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import { agentTemplates } from '../schema/agent-templates.ts';
import { type AgentStatus, type UserAgent, userAgents } from '../schema/user-agents.ts';

/**
 * One statement: the template is looked up inside it; an unknown or retired template leaves
 * `template_id` (and the default name) null, which NOT NULL refuses, so nothing is inserted.
 */
const createFromTemplate = statement.one(
  'userAgents.createFromTemplate',
  userAgents,
  ['templateId', 'name', 'config'],
  ({ db, t, $, owner, table }) => {
    const tpl = table(agentTemplates);
    const active = sql`${tpl.id} = ${$.templateId} and ${tpl.isActive} = ${true}`;
    return db
      .insert(t)
      .values({
        userId: owner,
        templateId: sql`(select ${tpl.id} from ${tpl} where ${active})`,
        name: sql`coalesce(${$.name}, (select ${tpl.name} from ${tpl} where ${active}))`,
        config: $.config,
      })
      .returning();
  },
);

const findAgent = statement.maybe('userAgents.find', userAgents, ['id'], ({ db, t, $, owned }) =>
  db
    .select()
    .from(t)
    .where(and(eq(t.id, $.id), owned())),
);

const listAgents = statement.many(
  'userAgents.list',
  userAgents,
  ['includeArchived'],
  ({ db, t, $, owned }) =>
    db
      .select()
      .from(t)
      .where(and(owned(), sql`(${$.includeArchived} = ${true} or ${t.status} <> 'archived')`))
      .orderBy(asc(t.createdAt), asc(t.id)),
  { stale: true },
);

/** A status change allowed only from the given statuses (checked in the statement). */
function transition(name: string, to: AgentStatus, from: readonly AgentStatus[]) {
  return statement.maybe(name, userAgents, ['id', 'now'], ({ db, t, $, owned }) =>
    db
      .update(t)
      .set({
        status: to,
        ...(to === 'archived' ? { archivedAt: $.bind(t.archivedAt, 'now') } : {}),
      })
      .where(and(eq(t.id, $.id), owned(), inArray(t.status, [...from])))
      .returning(),
  );
}

const pauseAgent = transition('userAgents.pause', 'paused', ['active']);
const resumeAgent = transition('userAgents.resume', 'active', ['paused']);
const archiveAgent = transition('userAgents.archive', 'archived', ['active', 'paused']);

export interface CreateAgentInput {
  templateId: string;
  /** Default: the template's name. */
  name?: string;
  config?: Record<string, unknown>;
}

/** A user's agents: started from a template, paused, resumed, archived. */
export function createUserAgentsRepository(ctx: DomainContext) {
  const change = async (stmt: ReturnType<typeof transition>, id: string, verb: string) => {
    const params = { id: requireUuid(id, 'id'), now: new Date() };
    const row = await run(ctx, stmt, params);
    if (row) return row;
    const current = await found('agent', run(ctx, findAgent, params));
    throw new ValidationError('status', `an agent that is ${current.status} cannot be ${verb}`);
  };
  return {
    /** Starts an agent from an active template (a service names the user with `userId`). */
    async createFromTemplate(input: CreateAgentInput, userId?: string): Promise<UserAgent> {
      const given = requirePlainObject(input, 'input') as unknown as CreateAgentInput;
      const config = given.config === undefined ? {} : requirePlainObject(given.config, 'config');
      try {
        return await run(ctx, createFromTemplate, {
          owner: userId,
          templateId: requireUuid(given.templateId, 'templateId'),
          name: optionalText(given.name, 'name', { max: 200 }) ?? null,
          config,
        });
      } catch (error) {
        if (error instanceof NotNullViolationError) throw new NotFoundError('agent template');
        throw error;
      }
    },

    /** The user's agent, or NotFoundError. */
    async get(id: string): Promise<UserAgent> {
      return found('agent', run(ctx, findAgent, { id: requireUuid(id, 'id') }));
    },

    /** The user's agents, oldest first; archived ones only when asked for. */
    async list(options: { includeArchived?: boolean; userId?: string } = {}): Promise<UserAgent[]> {
      return run(ctx, listAgents, {
        owner: options.userId,
        includeArchived: options.includeArchived === true,
      });
    },

    pause: (id: string): Promise<UserAgent> => change(pauseAgent, id, 'paused'),
    resume: (id: string): Promise<UserAgent> => change(resumeAgent, id, 'resumed'),
    archive: (id: string): Promise<UserAgent> => change(archiveAgent, id, 'archived'),
  };
}
