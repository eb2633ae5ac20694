import { ForeignKeyViolationError, NotFoundError } from '@exora/core';

/** A foreign-key miss on the (agent, user) pair: the agent is not the user's (or not there). */
export async function agentOf<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ForeignKeyViolationError) throw new NotFoundError('agent');
    throw error;
  }
}
