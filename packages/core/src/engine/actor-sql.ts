/**
 * The Postgres function that puts an actor into a transaction for the row-level security
 * policies. The acting user's organization and role are read from the membership table, never
 * taken from the caller: a user who names an organization they are not a member of is refused
 * (SQLSTATE 42501), in the same round trip as the call itself.
 */
import { getTableName } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { RLS_SETTINGS } from '../kit/table.ts';
import type { SchemaInfo } from './schema-info.ts';

export const ACTOR_FUNCTION = 'exora_set_actor';
export const SET_ACTOR_SQL = `select ${ACTOR_FUNCTION}($1, $2, $3)`;

/** The three arguments of `exora_set_actor` for an actor. */
export function actorArguments(actor: Actor): [string | null, string | null, boolean] {
  return actor.kind === 'service'
    ? [null, null, true]
    : [actor.userId, actor.organizationId ?? null, false];
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** CREATE and DROP statements of the function for a schema (its membership table, if any). */
export function actorFunctionSql(schema: SchemaInfo): { create: string[]; drop: string[] } {
  const m = schema.membership;
  let lookup = '';
  if (m) {
    const t = m.table.pg as unknown as Record<string, { name: string }>;
    const table = q(getTableName(m.table.pg));
    const user = q(t[m.userKey]!.name);
    const org = q(t[m.organizationKey]!.name);
    const role = m.roleKey ? `${q(t[m.roleKey]!.name)}::text` : 'null::text';
    lookup = `
  SELECT ${org}::text, ${role} INTO v_org, v_role FROM ${table} WHERE ${user} = p_user::uuid;`;
  }
  const body = `CREATE OR REPLACE FUNCTION ${ACTOR_FUNCTION}(p_user text, p_org text, p_service boolean)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_org text;
  v_role text;
BEGIN
  IF p_service THEN
    PERFORM set_config('${RLS_SETTINGS.service}', 'on', true),
            set_config('${RLS_SETTINGS.userId}', '', true),
            set_config('${RLS_SETTINGS.organizationId}', '', true),
            set_config('${RLS_SETTINGS.role}', '', true);
    RETURN;
  END IF;
  -- The user's own id first: the membership lookup below runs under the user's policies.
  PERFORM set_config('${RLS_SETTINGS.service}', 'off', true),
          set_config('${RLS_SETTINGS.userId}', p_user, true),
          set_config('${RLS_SETTINGS.organizationId}', '', true),
          set_config('${RLS_SETTINGS.role}', '', true);${lookup}
  IF p_org IS NOT NULL AND p_org IS DISTINCT FROM v_org THEN
    RAISE EXCEPTION 'the acting user is not a member of the organization'
      USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('${RLS_SETTINGS.organizationId}', coalesce(v_org, ''), true),
          set_config('${RLS_SETTINGS.role}', coalesce(v_role, ''), true);
END;
$$;`;
  return {
    create: [body],
    drop: [`DROP FUNCTION IF EXISTS ${ACTOR_FUNCTION}(text, text, boolean);`],
  };
}
