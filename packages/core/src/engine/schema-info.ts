/**
 * What the engine needs to know about a schema, computed once per database from the kit tables
 * it was opened with: which columns are secrets (and what their ciphertexts are bound to), which
 * table says who belongs to which organization, and each owned table's owner column.
 */
import { type Column, getTableName, type SQL, sql } from 'drizzle-orm';
import type { Dialect } from '../database.ts';
import type { AnyTable, TableMeta } from '../kit/table.ts';
import { ACTOR, boundIdentity, ORGANIZATION, OWNER } from './statement.ts';

interface SecretInfo {
  /** SQL table and column names: the ciphertext's associated data. */
  readonly table: string;
  readonly column: string;
  /** Column keys whose values identify the row in the associated data. */
  readonly boundTo: readonly string[];
  /** The owner column's key: when a statement has no value for it, the call's owner is bound. */
  readonly ownerKey: string | undefined;
}

interface Membership {
  readonly table: AnyTable;
  /** Keys of the user id, organization id and (optional) role columns. */
  readonly userKey: string;
  readonly organizationKey: string;
  readonly roleKey: string | undefined;
}

export interface SchemaInfo {
  readonly tables: readonly AnyTable[];
  /** The secret a dialect column holds, if it is an encrypted column. */
  secretOf(column: Column | unknown): SecretInfo | undefined;
  /**
   * The associated data of an encrypted column's value in `row` (values by column key): what the
   * engine binds its ciphertext to. For code that handles ciphertexts itself (key rotation).
   */
  secretContext(
    column: Column | unknown,
    row: Readonly<Record<string, unknown>>,
  ): { table: string; column: string; rowId: string };
  /** The key of a dialect column, if it belongs to `table` (by SQL name). */
  columnKeyOf(column: Column | unknown, table: string): string | undefined;
  /** The table that maps users to organizations (the `member`-scoped one), if any. */
  readonly membership: Membership | undefined;
  meta(table: string): TableMeta | undefined;
}

export function schemaInfo(tables: readonly AnyTable[]): SchemaInfo {
  const secrets = new Map<object, SecretInfo>();
  const keys = new Map<object, { table: string; key: string }>();
  const byName = new Map<string, AnyTable>();
  let membership: Membership | undefined;
  for (const t of tables) {
    byName.set(t.name, t);
    const meta = t.meta;
    for (const info of meta.columns) {
      const cols = [(t.pg as never)[info.key], (t.sqlite as never)[info.key]] as object[];
      for (const c of cols) keys.set(c, { table: t.name, key: info.key });
      const secret = info.meta.secret;
      if (!secret) continue;
      const owner = meta.ownerKey;
      const boundTo = secret.boundTo ?? ['id', ...(owner ? [owner] : [])];
      const s: SecretInfo = { table: t.name, column: info.name, boundTo, ownerKey: owner };
      for (const c of cols) secrets.set(c, s);
    }
    if (meta.policy === 'member' && meta.ownerKey && meta.organizationKey) {
      membership = {
        table: t,
        userKey: meta.ownerKey,
        organizationKey: meta.organizationKey,
        roleKey: meta.roleKey,
      };
    }
  }
  return {
    tables,
    secretOf: (c) => (c && typeof c === 'object' ? secrets.get(c) : undefined),
    secretContext(c, row) {
      const s = c && typeof c === 'object' ? secrets.get(c) : undefined;
      if (!s) throw new Error('secretContext: not an encrypted column of this schema');
      const rowId = boundIdentity(s.boundTo.map((key) => row[key]));
      return { table: s.table, column: s.column, rowId };
    },
    columnKeyOf(c, table) {
      if (!c || typeof c !== 'object') return undefined;
      const k = keys.get(c);
      return k && k.table === table ? k.key : undefined;
    },
    membership,
    meta: (name) => byName.get(name)?.meta,
  };
}

const placeholder = (name: string) => sql.placeholder(name);

function membershipColumns(schema: SchemaInfo, dialect: Dialect) {
  const m = schema.membership;
  if (!m) throw new Error('No membership table in the schema: organization scope needs one');
  const t = (dialect === 'postgres' ? m.table.pg : m.table.sqlite) as unknown as Record<
    string,
    Column
  >;
  return {
    m,
    table: sql.identifier(getTableName(m.table.pg)),
    user: sql.identifier(t[m.userKey]!.name),
    org: sql.identifier(t[m.organizationKey]!.name),
    role: m.roleKey ? sql.identifier(t[m.roleKey]!.name) : undefined,
  };
}

const typed = (dialect: Dialect, name: string) =>
  dialect === 'postgres' ? sql`${placeholder(name)}::uuid` : sql`${placeholder(name)}`;

/** The acting user's organization, read from the membership table (never from the caller). */
function memberOrganization(schema: SchemaInfo, dialect: Dialect): SQL {
  const c = membershipColumns(schema, dialect);
  return sql`(select m.${c.org} from ${c.table} m where m.${c.user} = ${typed(dialect, ACTOR)})`;
}

/**
 * The organization a call acts in: the one a service names, or the acting user's own
 * organization from the membership table.
 */
export function actorOrganization(schema: SchemaInfo, dialect: Dialect): SQL {
  return sql`coalesce(${typed(dialect, ORGANIZATION)}, ${memberOrganization(schema, dialect)})`;
}

/** True when the actor is a service, or a user whose role (in the membership table) is `role`. */
export function actorHasRole(schema: SchemaInfo, dialect: Dialect, role: string): SQL {
  const c = membershipColumns(schema, dialect);
  if (!c.role) throw new Error('No role column in the membership table');
  const actor = typed(dialect, ACTOR);
  return sql`(${actor} is null or exists (select 1 from ${c.table} m where m.${c.user} = ${actor} and m.${c.role} = ${role}))`;
}

/** The owner filter of a table (see `BuildContext.owned`). */
export function ownerFilter(schema: SchemaInfo, dialect: Dialect, table: AnyTable['pg']): SQL {
  const name = getTableName(table as never);
  const meta = schema.meta(name);
  if (!meta) throw new Error(`Table ${name} is not in this database's schema`);
  const cols = table as unknown as Record<string, Column>;
  const owner = meta.ownerKey ? cols[meta.ownerKey] : undefined;
  switch (meta.policy) {
    case 'user':
      return sql`${owner!} = ${placeholder(OWNER)}`;
    case 'organization':
      // A service that names no organization acts on all of them.
      return sql`((${typed(dialect, ACTOR)} is null and ${typed(dialect, ORGANIZATION)} is null) or ${owner!} = ${actorOrganization(schema, dialect)})`;
    case 'member': {
      const org = cols[meta.organizationKey!]!;
      const actor = typed(dialect, ACTOR);
      return sql`(${actor} is null or ${owner!} = ${actor} or ${org} = ${memberOrganization(schema, dialect)})`;
    }
    default:
      throw new Error(`Table ${name} has no owner: owned() does not apply`);
  }
}
