/**
 * The statistics triggers: every insert, update and delete of `user_agents` and
 * `agent_activities` recounts the affected users' row of `user_statistics` (a recount, not a
 * running delta, so it is exact by construction, also for cascades and status changes). On
 * Postgres they run as the acting role, so under row-level security the recount sees exactly
 * the rows of the user it is for, and concurrent writers for one user are serialized on that
 * user's row before recounting (see `refreshUserStatisticsFunction`). Plain data of the migrations app's `sqlObject` shape.
 */
const COLUMNS =
  'user_id, total_agents, active_agents, total_activities, successful_activities, failed_activities, last_activity_at, updated_at';

const recount = (user: string, now: string) => `SELECT ${user},
    (SELECT count(*) FROM user_agents WHERE user_id = ${user}),
    (SELECT count(*) FROM user_agents WHERE user_id = ${user} AND status = 'active'),
    (SELECT count(*) FROM agent_activities WHERE user_id = ${user}),
    (SELECT count(*) FROM agent_activities WHERE user_id = ${user} AND status = 'success'),
    (SELECT count(*) FROM agent_activities WHERE user_id = ${user} AND status = 'failure'),
    (SELECT max(created_at) FROM agent_activities WHERE user_id = ${user}),
    ${now}
  WHERE EXISTS (SELECT 1 FROM users WHERE id = ${user})
  ON CONFLICT (user_id) DO UPDATE SET
    total_agents = excluded.total_agents,
    active_agents = excluded.active_agents,
    total_activities = excluded.total_activities,
    successful_activities = excluded.successful_activities,
    failed_activities = excluded.failed_activities,
    last_activity_at = excluded.last_activity_at,
    updated_at = excluded.updated_at`;

const REFRESH = 'exora_refresh_user_statistics';
const TRIGGER_FUNCTION = 'exora_user_statistics_trigger';

export const refreshUserStatisticsFunction = {
  kind: 'sqlObject',
  name: `function:${REFRESH}`,
  reads: ['user_agents', 'agent_activities', 'user_statistics', 'users'],
  pg: {
    // Two statements: the first takes the user's row lock (creating the row if need be), so a
    // concurrent writer for the same user waits here until the other transaction commits; the
    // recount is a statement of its own, and so (READ COMMITTED) reads a snapshot taken after
    // that wait, which includes what the other writer committed. In one statement the counts
    // would come from a snapshot taken before the wait, and the later writer would overwrite
    // the earlier one's counts with its stale ones.
    create: `CREATE OR REPLACE FUNCTION "${REFRESH}"(p_user uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO user_statistics (user_id)
    SELECT p_user WHERE EXISTS (SELECT 1 FROM users WHERE id = p_user)
    ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id;
  INSERT INTO user_statistics (${COLUMNS})
  ${recount('p_user', 'now()')};
END;
$$;`,
    drop: `DROP FUNCTION IF EXISTS "${REFRESH}"(uuid);`,
  },
} as const;

export const userStatisticsTriggerFunction = {
  kind: 'sqlObject',
  name: `function:${TRIGGER_FUNCTION}`,
  dependsOn: [refreshUserStatisticsFunction.name],
  pg: {
    create: `CREATE OR REPLACE FUNCTION "${TRIGGER_FUNCTION}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM "${REFRESH}"(OLD.user_id);
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
    PERFORM "${REFRESH}"(NEW.user_id);
  END IF;
  RETURN NULL;
END;
$$;`,
    drop: `DROP FUNCTION IF EXISTS "${TRIGGER_FUNCTION}"();`,
  },
} as const;

const SQLITE_NOW = "cast(unixepoch('subsec') * 1000 as integer)";

/** One table's triggers: Postgres one row trigger, SQLite one per operation. */
function statisticsTriggers(table: 'user_agents' | 'agent_activities', pgName: string) {
  const sqliteTrigger = (op: 'INSERT' | 'UPDATE' | 'DELETE') => {
    const name = `${pgName}_${op.toLowerCase()}`;
    const users =
      op === 'INSERT'
        ? ['NEW.user_id']
        : op === 'DELETE'
          ? ['OLD.user_id']
          : ['OLD.user_id', 'NEW.user_id'];
    const body = users
      .map((u) => `  INSERT INTO user_statistics (${COLUMNS})\n  ${recount(u, SQLITE_NOW)};`)
      .join('\n');
    return {
      kind: 'sqlObject',
      name: `trigger:${name}`,
      table,
      sqlite: {
        create: `CREATE TRIGGER "${name}" AFTER ${op} ON "${table}" FOR EACH ROW\nBEGIN\n${body}\nEND;`,
        drop: `DROP TRIGGER IF EXISTS "${name}";`,
      },
    } as const;
  };
  return [
    {
      kind: 'sqlObject',
      name: `trigger:${pgName}`,
      table,
      dependsOn: [userStatisticsTriggerFunction.name],
      pg: {
        create: `CREATE TRIGGER "${pgName}" AFTER INSERT OR UPDATE OR DELETE ON "${table}" FOR EACH ROW EXECUTE FUNCTION "${TRIGGER_FUNCTION}"();`,
        drop: `DROP TRIGGER IF EXISTS "${pgName}" ON "${table}";`,
      },
    } as const,
    sqliteTrigger('INSERT'),
    sqliteTrigger('UPDATE'),
    sqliteTrigger('DELETE'),
  ];
}

export const agentStatisticsTriggers = statisticsTriggers(
  'user_agents',
  'update_stats_on_agent_change',
);
export const activityStatisticsTriggers = statisticsTriggers(
  'agent_activities',
  'update_stats_on_activity_change',
);
