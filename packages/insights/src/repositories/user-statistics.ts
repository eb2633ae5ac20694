import { type DomainContext, run, statement } from '@exora/core';
import { type UserStatistics, userStatistics } from '../schema/user-statistics.ts';

const findStatistics = statement.maybe(
  'userStatistics.get',
  userStatistics,
  [],
  ({ db, t, owned }) => db.select().from(t).where(owned()),
  { stale: true },
);

/** The user's counts, kept by database triggers: read-only here. */
export function createUserStatisticsRepository(ctx: DomainContext) {
  return {
    /** Null until the user has had an agent. */
    get(userId?: string): Promise<UserStatistics | null> {
      return run(ctx, findStatistics, { owner: userId });
    },
  };
}
