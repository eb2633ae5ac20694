/**
 * `db:roles` (Postgres): the application role. Two roles touch a production database:
 *
 *  - the migration owner, the role in DATABASE_URL when `db:migrate` / `db:push` run: it creates
 *    and owns every table. Row-level security is FORCEd on the tables with policies, so even it
 *    sees only what the settings allow, unless it is a superuser.
 *  - the application role (EXORA_APP_ROLE, default `exora_app`): LOGIN, no SUPERUSER, no
 *    BYPASSRLS, owner of nothing, with SELECT/INSERT/UPDATE/DELETE on the schema's tables (now
 *    and, by default privileges, those the owner creates later) and nothing on the migration
 *    history. Its queries see only the rows the policies allow for the transaction-local
 *    settings `app.user_id`, `app.organization_id` and `app.service` (`set_config(..., true)`).
 *
 * Idempotent: creates the role when missing, grants what is missing; run it once per database
 * after the first migration, as a role with CREATEROLE (a superuser, or the owner if it may).
 */
import type { Database } from '@exora/core';
import { sql } from 'drizzle-orm';
import { MigrationError, UsageError } from './errors.ts';
import { ensureHistory, HISTORY_TABLE } from './migrator.ts';

export const DEFAULT_APP_ROLE = 'exora_app';

export interface RolesOptions {
  appRole: string;
  /** Sets the role's password when given (EXORA_APP_PASSWORD). */
  password?: string;
}

export interface RolesResult {
  role: string;
  created: boolean;
  owner: string;
  schema: string;
  tables: number;
  /** The password was set from `options.password` (on a role that existed, it was changed). */
  passwordSet: boolean;
  /** The migration owner is a superuser: row-level security does not apply to it. */
  ownerIsSuperuser: boolean;
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

function validRoleName(name: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(name);
}

export async function ensureAppRole(db: Database, options: RolesOptions): Promise<RolesResult> {
  if (db.dialect !== 'postgres') {
    throw new UsageError(
      'Roles and row-level security are Postgres features: nothing to do on SQLite.',
    );
  }
  const role = options.appRole;
  if (!validRoleName(role)) {
    throw new UsageError(`"${role}" is not a usable role name (lower case letters, digits, _)`);
  }
  return db.transaction(async (tx) => {
    await ensureHistory(tx);
    const [info] = await tx.execute<{ schema: string; database: string; owner: string }>(sql`
      select current_schema() as schema, current_database() as database,
             (select tableowner from pg_tables
               where schemaname = current_schema() and tablename = ${HISTORY_TABLE}) as owner`);
    if (!info) throw new Error('the catalog returned no row for the current schema');
    const { schema, database, owner } = info;
    if (owner === role) {
      throw new MigrationError(
        `${role} owns the tables (it ran the migrations): the application role must be another role.`,
      );
    }
    const [existing] = await tx.execute<{ super: boolean; bypass: boolean }>(
      sql`select rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = ${role}`,
    );
    if (existing && (existing.super || existing.bypass)) {
      throw new MigrationError(
        `Role ${role} is a superuser or has BYPASSRLS: row-level security would not apply to it.`,
      );
    }
    if (!existing) {
      await tx.execute(
        sql.raw(
          `CREATE ROLE ${ident(role)} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION`,
        ),
      );
    }
    if (options.password) {
      // The password travels as a bound parameter, never in statement text (logs, errors).
      await tx.execute(sql`select set_config('exora.app_password', ${options.password}, true)`);
      await tx.execute(
        sql.raw(
          `DO $$ BEGIN EXECUTE format('ALTER ROLE %I PASSWORD %L', ${literal(role)}, current_setting('exora.app_password')); END $$`,
        ),
      );
      await tx.execute(sql`select set_config('exora.app_password', '', true)`);
    }
    const r = ident(role);
    const s = ident(schema);
    for (const statement of [
      `GRANT CONNECT ON DATABASE ${ident(database)} TO ${r}`,
      `GRANT USAGE ON SCHEMA ${s} TO ${r}`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`,
      `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`,
      `REVOKE ALL ON ${ident(HISTORY_TABLE)} FROM ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(owner)} IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${r}`,
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(owner)} IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${r}`,
    ]) {
      await tx.execute(sql.raw(statement));
    }
    const [count] = await tx.execute<{ n: number }>(sql`
      select count(*)::int as n from pg_tables
      where schemaname = current_schema() and tablename <> ${HISTORY_TABLE}`);
    const [ownerRole] = await tx.execute<{ super: boolean }>(
      sql`select rolsuper as super from pg_roles where rolname = ${owner}`,
    );
    return {
      role,
      created: !existing,
      owner,
      schema,
      tables: Number(count?.n ?? 0),
      passwordSet: Boolean(options.password),
      ownerIsSuperuser: Boolean(ownerRole?.super),
    };
  });
}
