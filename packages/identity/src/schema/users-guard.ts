/**
 * Row-level security decides which `users` rows a user-context transaction may update; it cannot
 * say which columns. These Postgres triggers keep a user from raising their own role or moving
 * themselves (or anyone) into another organization, even with SQL the repositories would never
 * send: only an admin changes a member's role, in their own organization, and a user joins an
 * organization only as the first member of one created in the same transaction. A service (or
 * a session with no actor, which the policies already shut out) is not restricted.
 *
 * On SQLite there are no sessions to attack this way: the repositories' own checks are the rule.
 *
 * The objects are plain data of the migrations app's `sqlObject` shape, so the migration history
 * carries them without this package importing the app.
 */
const GUARD_FUNCTION = 'exora_users_guard';
const CREATED_FUNCTION = 'exora_note_created_organization';
/** Transaction-local: the organization this transaction created (its creator may join it). */
const CREATED_SETTING = 'exora.created_organization';

export const usersGuardFunction = {
  kind: 'sqlObject',
  name: `function:${GUARD_FUNCTION}`,
  pg: {
    create: `CREATE OR REPLACE FUNCTION "${GUARD_FUNCTION}"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_user uuid := nullif(current_setting('app.user_id', true), '')::uuid;
  v_org uuid := nullif(current_setting('app.organization_id', true), '')::uuid;
  v_role text := nullif(current_setting('app.role', true), '');
  v_created text := nullif(current_setting('${CREATED_SETTING}', true), '');
  v_joins boolean;
BEGIN
  IF v_user IS NULL THEN
    RETURN NEW;
  END IF;
  -- The creator of a new organization joins it as its admin (organizations.create).
  v_joins := OLD.id = v_user AND OLD.organization_id IS NULL
    AND NEW.organization_id IS NOT NULL AND NEW.organization_id::text = v_created;
  IF NEW.organization_id IS DISTINCT FROM OLD.organization_id AND NOT v_joins THEN
    RAISE EXCEPTION 'a user may not change the organization of a user' USING ERRCODE = '42501';
  END IF;
  IF NEW.role IS DISTINCT FROM OLD.role AND NOT (
    (v_joins AND NEW.role = 'admin')
    OR (v_role = 'admin' AND OLD.id <> v_user AND OLD.organization_id = v_org)
  ) THEN
    RAISE EXCEPTION 'only an admin of the organization may change a member''s role'
      USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END;
$$;`,
    drop: `DROP FUNCTION IF EXISTS "${GUARD_FUNCTION}"();`,
  },
} as const;

export const usersGuardTrigger = {
  kind: 'sqlObject',
  name: 'trigger:users_guard_role_and_organization',
  table: 'users',
  dependsOn: [usersGuardFunction.name],
  pg: {
    create: `CREATE TRIGGER "users_guard_role_and_organization" BEFORE UPDATE OF "role", "organization_id" ON "users" FOR EACH ROW EXECUTE FUNCTION "${GUARD_FUNCTION}"();`,
    drop: 'DROP TRIGGER IF EXISTS "users_guard_role_and_organization" ON "users";',
  },
} as const;

export const createdOrganizationFunction = {
  kind: 'sqlObject',
  name: `function:${CREATED_FUNCTION}`,
  pg: {
    create: `CREATE OR REPLACE FUNCTION "${CREATED_FUNCTION}"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('${CREATED_SETTING}', NEW.id::text, true);
  RETURN NEW;
END;
$$;`,
    drop: `DROP FUNCTION IF EXISTS "${CREATED_FUNCTION}"();`,
  },
} as const;

export const createdOrganizationTrigger = {
  kind: 'sqlObject',
  name: 'trigger:organizations_note_created',
  table: 'organizations',
  dependsOn: [createdOrganizationFunction.name],
  pg: {
    create: `CREATE TRIGGER "organizations_note_created" AFTER INSERT ON "organizations" FOR EACH ROW EXECUTE FUNCTION "${CREATED_FUNCTION}"();`,
    drop: 'DROP TRIGGER IF EXISTS "organizations_note_created" ON "organizations";',
  },
} as const;
