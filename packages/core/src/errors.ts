/**
 * One error vocabulary for both drivers. Every error has a stable `code` a service can map to
 * an HTTP status, and says whether trying again may succeed (`retryable`).
 *
 * A database error never reaches the caller as the driver's or Drizzle's error: those carry the
 * query's parameters (a password hash, a ciphertext, an email) in their message, their `cause`
 * or their properties. It becomes one of these, built from the error's code and the names of
 * table, constraint and column, with no `cause`: nothing of the statement's values survives.
 */
import type { SchemaInfo } from './engine/schema-info.ts';

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'PRECONDITION_FAILED'
  | 'PERMISSION_DENIED'
  | 'UNIQUE_VIOLATION'
  | 'FOREIGN_KEY_VIOLATION'
  | 'CHECK_VIOLATION'
  | 'NOT_NULL_VIOLATION'
  | 'INVALID_DATA'
  | 'DATABASE_BUSY'
  | 'CONNECTION_FAILED'
  | 'SCHEMA_MISMATCH'
  | 'TRANSACTION_STATE'
  | 'CONFIGURATION'
  | 'QUERY_FAILED';

export class ExoraDbError extends Error {
  override name = 'ExoraDbError';
  readonly code: ErrorCode = 'QUERY_FAILED';
  /** Whether the same call may succeed if tried again (a lock, a lost connection). */
  readonly retryable: boolean = false;
}

/** A field of the input failed validation; nothing was sent to the database. */
export class ValidationError extends ExoraDbError {
  override name = 'ValidationError';
  override readonly code = 'VALIDATION_FAILED';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`Invalid ${field}: ${problem}`);
  }
}

/**
 * The call is valid but the state it needs is not there yet (a workflow whose OAuth grants the
 * user has not given). Domains subclass it with what is missing.
 */
export class PreconditionError extends ExoraDbError {
  override name = 'PreconditionError';
  override readonly code: ErrorCode = 'PRECONDITION_FAILED';
}

/** No row the actor may see matches. (Another user's row is reported the same way.) */
export class NotFoundError extends ExoraDbError {
  override name = 'NotFoundError';
  override readonly code = 'NOT_FOUND';
  constructor(readonly entity: string) {
    super(`${entity} not found`);
  }
}

/** The actor may not make this call (a user calling a service-only method, a non-member). */
export class PermissionError extends ExoraDbError {
  override name = 'PermissionError';
  override readonly code = 'PERMISSION_DENIED';
}

export type ConstraintKind = 'unique' | 'foreign_key' | 'check' | 'not_null';

export interface ConstraintDetails {
  table: string | undefined;
  constraint: string | undefined;
  column: string | undefined;
}

export abstract class ConstraintViolationError extends ExoraDbError {
  abstract readonly kind: ConstraintKind;
  readonly table: string | undefined;
  readonly constraint: string | undefined;
  readonly column: string | undefined;
  constructor(what: string, details: ConstraintDetails) {
    const where = [
      details.table && `table ${details.table}`,
      details.constraint && `constraint ${details.constraint}`,
      details.column && `column ${details.column}`,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${what}${where ? ` (${where})` : ''}`);
    this.table = details.table;
    this.constraint = details.constraint;
    this.column = details.column;
  }
}

export class UniqueViolationError extends ConstraintViolationError {
  override name = 'UniqueViolationError';
  override readonly code = 'UNIQUE_VIOLATION';
  readonly kind = 'unique';
  constructor(details: ConstraintDetails) {
    super('Unique constraint violated', details);
  }
}

export class ForeignKeyViolationError extends ConstraintViolationError {
  override name = 'ForeignKeyViolationError';
  override readonly code = 'FOREIGN_KEY_VIOLATION';
  readonly kind = 'foreign_key';
  constructor(details: ConstraintDetails) {
    super('Foreign key constraint violated', details);
  }
}

export class CheckViolationError extends ConstraintViolationError {
  override name = 'CheckViolationError';
  override readonly code = 'CHECK_VIOLATION';
  readonly kind = 'check';
  constructor(details: ConstraintDetails) {
    super('Check constraint violated', details);
  }
}

export class NotNullViolationError extends ConstraintViolationError {
  override name = 'NotNullViolationError';
  override readonly code = 'NOT_NULL_VIOLATION';
  readonly kind = 'not_null';
  constructor(details: ConstraintDetails) {
    super('Not-null constraint violated', details);
  }
}

/** The database refused a value (out of range, wrong format, bad encoding). */
export class InvalidDataError extends ExoraDbError {
  override name = 'InvalidDataError';
  override readonly code = 'INVALID_DATA';
}

/** A lock was not had in time, or the transaction lost a conflict: try again. */
export class DatabaseBusyError extends ExoraDbError {
  override name = 'DatabaseBusyError';
  override readonly code = 'DATABASE_BUSY';
  override readonly retryable = true;
}

/**
 * The connection to the database failed or was lost. A failure before `COMMIT` was sent
 * committed nothing; a connection lost while `COMMIT` itself was in flight leaves the outcome
 * unknown (as with any database): make retried writes idempotent.
 */
export class ConnectionError extends ExoraDbError {
  override name = 'ConnectionError';
  override readonly code = 'CONNECTION_FAILED';
  override readonly retryable = true;
}

/** The database does not have the schema this code expects (run `pnpm db:migrate`). */
export class SchemaMismatchError extends ExoraDbError {
  override name = 'SchemaMismatchError';
  override readonly code = 'SCHEMA_MISMATCH';
}

/** A transaction was used after it ended or failed, or in a way that cannot work. */
export class TransactionStateError extends ExoraDbError {
  override name = 'TransactionStateError';
  override readonly code = 'TRANSACTION_STATE';
}

/** The database handle was configured wrongly (bad URL, bad pool setting). */
export class ConfigurationError extends ExoraDbError {
  override name = 'ConfigurationError';
  override readonly code = 'CONFIGURATION';
}

/** Any other database error: its code is kept, its message (which may hold values) is not. */
export class QueryError extends ExoraDbError {
  override name = 'QueryError';
  override readonly code = 'QUERY_FAILED';
  constructor(
    message: string,
    /** The driver's error code (a Postgres SQLSTATE or a SQLite result code). */
    readonly driverCode: string | undefined,
  ) {
    super(message);
  }
}

const PG_CONSTRAINTS: Record<string, ConstraintKind> = {
  '23505': 'unique',
  '23503': 'foreign_key',
  '23514': 'check',
  '23502': 'not_null',
};

const SQLITE_CONSTRAINTS: Record<string, ConstraintKind> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreign_key',
  SQLITE_CONSTRAINT_CHECK: 'check',
  SQLITE_CONSTRAINT_NOTNULL: 'not_null',
};

const CLASSES = {
  unique: UniqueViolationError,
  foreign_key: ForeignKeyViolationError,
  check: CheckViolationError,
  not_null: NotNullViolationError,
} as const;

/** Postgres SQLSTATEs and postgres.js / Node codes that mean the connection is gone. */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01', // admin_shutdown (pg_terminate_backend)
  '57P02',
  '57P03',
]);

/**
 * Turns any error from a driver (possibly wrapped in Drizzle's DrizzleQueryError) into a typed
 * error without values. Errors that are already ours pass through.
 */
export function mapDatabaseError(error: unknown, schema?: SchemaInfo): ExoraDbError | unknown {
  if (error instanceof ExoraDbError) return error;
  // Only the driver's error, or Drizzle's wrapper of it: an application error that merely has
  // one as its cause (a migration's own error) is left as it is.
  const direct =
    isDrizzleQueryError(error) ||
    (!!error &&
      typeof error === 'object' &&
      typeof (error as { code?: unknown }).code === 'string');
  if (!direct) return error;
  const { driverError, query } = unwrap(error);
  if (!driverError) {
    // Not a database error (a bug in calling code, a crypto error): it carries no parameters.
    return isDrizzleQueryError(error) ? new QueryError('Database query failed', undefined) : error;
  }
  const e = driverError as Record<string, unknown>;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const isPg = code !== undefined && 'severity' in e;

  if (isPg) {
    const kind = PG_CONSTRAINTS[code];
    if (kind) {
      const table = str(e.table_name);
      const constraint = str(e.constraint_name);
      let column = str(e.column_name);
      if (kind === 'check' && table && constraint)
        column = columnOfCheck(schema, table, constraint);
      return new CLASSES[kind]({ table, constraint, column });
    }
    if (code === '42501') return new PermissionError(permissionMessage(str(e.message)));
    if (code.startsWith('22'))
      return new InvalidDataError(`The database refused a value (SQLSTATE ${code})`);
    if (code === '40001' || code === '40P01' || code === '55P03' || code === '57014') {
      return new DatabaseBusyError(
        `The database could not complete the call in time (SQLSTATE ${code})`,
      );
    }
    if (code === '42P01' || code === '42703' || code === '42883' || code === '3F000') {
      return new SchemaMismatchError(
        `The database does not have the expected schema${missingName(str(e.message))} (SQLSTATE ${code}): run \`pnpm db:migrate\``,
      );
    }
    if (code === '3D000') {
      return new ConfigurationError('The database named in the connection settings does not exist');
    }
    if (code.startsWith('28')) {
      return new ConfigurationError(
        `The database refused the role or its password (SQLSTATE ${code})`,
      );
    }
    if (CONNECTION_CODES.has(code) || code.startsWith('08')) {
      return new ConnectionError(`The database connection was lost (SQLSTATE ${code})`);
    }
    return new QueryError(`Database error (SQLSTATE ${code})`, code);
  }
  // SQLite runs `ON DELETE RESTRICT` as a built-in trigger: its violation comes as a trigger
  // constraint with the foreign key's own message.
  const restrict =
    code === 'SQLITE_CONSTRAINT_TRIGGER' && str(e.message) === 'FOREIGN KEY constraint failed';
  if (code && (SQLITE_CONSTRAINTS[code] || restrict)) {
    const kind = restrict ? 'foreign_key' : SQLITE_CONSTRAINTS[code]!;
    return new CLASSES[kind](sqliteDetails(schema, kind, str(e.message) ?? '', query));
  }
  if (code === 'SQLITE_BUSY' || code?.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new DatabaseBusyError('The SQLite database is locked by another connection');
  }
  if (code && CONNECTION_CODES.has(code)) {
    return new ConnectionError(`The database connection failed (${code})`);
  }
  if (code === 'SQLITE_ERROR' && /^no such (table|column)/.test(str(e.message) ?? '')) {
    return new SchemaMismatchError(
      `The database does not have the expected schema${missingName(str(e.message))}: run \`pnpm db:push\``,
    );
  }
  if (code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE') {
    return new InvalidDataError(`The database refused a value (${code})`);
  }
  if (code?.startsWith('SQLITE_')) return new QueryError(`Database error (${code})`, code);
  return new QueryError('Database query failed', code);
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function isDrizzleQueryError(error: unknown): boolean {
  return (
    !!error &&
    typeof error === 'object' &&
    'query' in error &&
    'params' in error &&
    Array.isArray((error as { params: unknown }).params)
  );
}

/**
 * Postgres's permission messages name only the table ("new row violates row-level security
 * policy for table "x"", "permission denied for table x"): those are kept; anything else is not.
 */
function permissionMessage(message: string | undefined): string {
  const rls =
    message && /^new row violates row-level security policy for table "(\w+)"$/.exec(message);
  if (rls) return `new row violates row-level security policy for table "${rls[1]}"`;
  const denied =
    message && /^permission denied for (table|schema|sequence|function) (\w+)$/.exec(message);
  if (denied) return `permission denied for ${denied[1]} ${denied[2]}`;
  return 'The database refused the call: permission denied';
}

/** The missing table or column, by name only ("relation "x" does not exist", "no such table: x"). */
function missingName(message: string | undefined): string {
  const m =
    message &&
    (/^relation "(\w+)" does not exist$/.exec(message) ??
      /^column "?([\w.]+)"? (?:of relation "\w+" )?does not exist$/.exec(message) ??
      /^no such (?:table|column): ([\w.]+)$/.exec(message));
  return m ? ` (${m[1]} does not exist)` : '';
}

function unwrap(error: unknown): { driverError: unknown; query: string | undefined } {
  let current: any = error;
  let query: string | undefined;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (typeof current.query === 'string') query = current.query;
    if (typeof current.code === 'string') return { driverError: current, query };
    current = current.cause;
  }
  return { driverError: undefined, query };
}

/**
 * better-sqlite3 says e.g. `UNIQUE constraint failed: users.email`,
 * `UNIQUE constraint failed: index 'users_email_lower_unique'`,
 * `CHECK constraint failed: leads_score_range`, `NOT NULL constraint failed: users.email`,
 * and `FOREIGN KEY constraint failed` (no names: we take the table from the statement).
 * Only names are taken from it, never values (SQLite's messages hold none).
 */
function sqliteDetails(
  schema: SchemaInfo | undefined,
  kind: ConstraintKind,
  message: string,
  query: string | undefined,
) {
  const detail = message.split(': ').slice(1).join(': ').trim();
  if (kind === 'unique') {
    const indexMatch = /^index '([^']+)'$/.exec(detail);
    if (indexMatch) {
      return { table: tableFromQuery(query), constraint: indexMatch[1], column: undefined };
    }
    const pairs = detail.split(',').map((p) => p.trim().split('.'));
    const table = pairs[0]?.[0];
    const columns = pairs.map((p) => p[1] ?? '');
    const meta = table ? schema?.meta(table) : undefined;
    const found = meta?.uniques.find(
      (u) => u.columns.length === columns.length && u.columns.every((c, i) => c === columns[i]),
    );
    const pk = message.includes('PRIMARY KEY') || (columns.length === 1 && columns[0] === 'id');
    return {
      table,
      constraint: found?.name ?? (pk ? `${table}_pkey` : undefined),
      column: columns.length === 1 ? columns[0] : undefined,
    };
  }
  if (kind === 'not_null') {
    const [table, column] = detail.split('.');
    return { table, constraint: undefined, column };
  }
  if (kind === 'check') {
    const constraint = detail || undefined;
    const table =
      tableFromQuery(query) ??
      (constraint
        ? schema?.tables.find((t) => t.meta.checks.includes(constraint))?.name
        : undefined);
    const column = constraint && table ? columnOfCheck(schema, table, constraint) : undefined;
    return { table, constraint, column };
  }
  return { table: tableFromQuery(query), constraint: undefined, column: undefined };
}

function columnOfCheck(
  schema: SchemaInfo | undefined,
  table: string,
  constraint: string,
): string | undefined {
  const meta = schema?.meta(table);
  if (!meta) return undefined;
  const col = meta.columns.find(
    (c) =>
      constraint === `${table}_${c.name}_check` || constraint === `${table}_${c.name}_length_check`,
  );
  return col?.name;
}

function tableFromQuery(query: string | undefined): string | undefined {
  if (!query) return undefined;
  const m = /^\s*(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from)\s+"?([\w]+)"?/i.exec(query);
  return m?.[1];
}
