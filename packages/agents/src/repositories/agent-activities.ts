import {
  type DomainContext,
  ownedRow,
  requirePlainObject,
  requireText,
  requireUuid,
  run,
  statement,
  ValidationError,
} from '@exora/core';
import {
  ACTIVITY_STATUSES,
  type ActivityStatus,
  type AgentActivity,
  agentActivities,
} from '../schema/agent-activities.ts';
import { agentOf } from './internal.ts';

/** Recorded only for an agent of the user's own: the (agent, user) foreign key is the check. */
const recordActivity = statement.one(
  'agentActivities.record',
  agentActivities,
  ['agentId', 'activityType', 'status', 'details', 'durationMs'],
  ({ db, t, $, owner }) =>
    db
      .insert(t)
      .values({
        agentId: $.agentId,
        userId: owner,
        activityType: $.activityType,
        status: $.status,
        details: $.details,
        durationMs: $.durationMs,
      })
      .returning(),
);

const listForAgent = ownedRow.listFor(
  'agentActivities.listForAgent',
  agentActivities,
  'agentId',
  'newest',
);

export interface RecordActivityInput {
  agentId: string;
  activityType: string;
  status?: ActivityStatus;
  details?: Record<string, unknown>;
  durationMs?: number;
}

/** What a user's agents did. */
export function createAgentActivitiesRepository(ctx: DomainContext) {
  return {
    /** Records an activity of one of the user's agents (a service names the user). */
    async record(input: RecordActivityInput, userId?: string): Promise<AgentActivity> {
      const given = requirePlainObject(input, 'input') as unknown as RecordActivityInput;
      const status = given.status ?? 'success';
      if (!ACTIVITY_STATUSES.includes(status)) {
        throw new ValidationError('status', `must be one of ${ACTIVITY_STATUSES.join(', ')}`);
      }
      const durationMs = given.durationMs ?? null;
      if (durationMs !== null && (!Number.isInteger(durationMs) || durationMs < 0)) {
        throw new ValidationError('durationMs', 'must be a non-negative integer');
      }
      return agentOf(
        run(ctx, recordActivity, {
          owner: userId,
          agentId: requireUuid(given.agentId, 'agentId'),
          activityType: requireText(given.activityType, 'activityType', { max: 100 }),
          status,
          details: given.details === undefined ? {} : requirePlainObject(given.details, 'details'),
          durationMs,
        }),
      );
    },

    /** An agent's latest activities, newest first. */
    async listForAgent(
      agentId: string,
      options: { limit?: number } = {},
    ): Promise<AgentActivity[]> {
      const limit = options.limit ?? 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new ValidationError('limit', 'must be an integer from 1 to 500');
      }
      return run(ctx, listForAgent, { agentId: requireUuid(agentId, 'agentId'), limit });
    },
  };
}
