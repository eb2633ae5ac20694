/**
 * One error vocabulary for both drivers. Messages name the table, constraint and column,
 * never the values: a duplicate email or a token must not end up in a log line.
 */
import { allTableMeta, tableMeta } from './kit/table.ts';

export class ExoraDbError extends Error {
  override name = 'ExoraDbError';
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
  constructor(what: string, details: ConstraintDetails, options: { cause: unknown }) {
    const where = [
      details.table && `table ${details.table}`,
      details.constraint && `constraint ${details.constraint}`,
      details.column && `column ${details.column}`,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${what}${where ? ` (${where})` : ''}`, options);
    this.table = details.table;
    this.constraint = details.constraint;
    this.column = details.column;
  }
}

export class UniqueViolationError extends ConstraintViolationError {
  override name = 'UniqueViolationError';
  readonly kind = 'unique';
  constructor(details: ConstraintDetails, options: { cause: unknown }) {
    super('Unique constraint violated', details, options);
  }
}

export class ForeignKeyViolationError extends ConstraintViolationError {
  override name = 'ForeignKeyViolationError';
  readonly kind = 'foreign_key';
  constructor(details: ConstraintDetails, options: { cause: unknown }) {
    super('Foreign key constraint violated', details, options);
  }
}

export class CheckViolationError extends ConstraintViolationError {
  override name = 'CheckViolationError';
  readonly kind = 'check';
  constructor(details: ConstraintDetails, options: { cause: unknown }) {
    super('Check constraint violated', details, options);
  }
}

export class NotNullViolationError extends ConstraintViolationError {
  override name = 'NotNullViolationError';
  readonly kind = 'not_null';
  constructor(details: ConstraintDetails, options: { cause: unknown }) {
    super('Not-null constraint violated', details, options);
  }
}

/** A transaction was used after it ended, or used concurrently where that cannot work. */
export class TransactionStateError extends ExoraDbError {
  override name = 'TransactionStateError';
}

/** The database handle was configured wrongly (bad URL, bad pool setting). */
export class ConfigurationError extends ExoraDbError {
  override name = 'ConfigurationError';
}

const PG_CODES: Record<string, ConstraintKind> = {
  '23505': 'unique',
  '23503': 'foreign_key',
  '23514': 'check',
  '23502': 'not_null',
};

const SQLITE_CODES: Record<string, ConstraintKind> = {
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

/**
 * Turns a driver error (possibly wrapped in Drizzle's DrizzleQueryError) into a typed
 * constraint error. Anything else is returned untouched.
 */
export function mapDatabaseError(error: unknown): unknown {
  if (error instanceof ExoraDbError) return error;
  const { driverError, query } = unwrap(error);
  if (!driverError || typeof driverError !== 'object') return error;
  const e = driverError as Record<string, any>;

  if (typeof e.code === 'string' && PG_CODES[e.code] && 'severity' in e) {
    const kind = PG_CODES[e.code]!;
    const table: string | undefined = e.table_name ?? undefined;
    const constraint: string | undefined = e.constraint_name ?? undefined;
    let column: string | undefined = e.column_name ?? undefined;
    if (kind === 'check' && table && constraint) column = columnOfCheck(table, constraint);
    return new CLASSES[kind]({ table, constraint, column }, { cause: error });
  }
  if (typeof e.code === 'string' && SQLITE_CODES[e.code]) {
    const kind = SQLITE_CODES[e.code]!;
    return new CLASSES[kind](sqliteDetails(kind, String(e.message ?? ''), query), {
      cause: error,
    });
  }
  return error;
}

function unwrap(error: unknown): { driverError: unknown; query: string | undefined } {
  let current: any = error;
  let query: string | undefined;
  for (let depth = 0; depth < 4 && current; depth++) {
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
 */
function sqliteDetails(kind: ConstraintKind, message: string, query: string | undefined) {
  const detail = message.split(': ').slice(1).join(': ').trim();
  if (kind === 'unique') {
    const indexMatch = /^index '([^']+)'$/.exec(detail);
    if (indexMatch) {
      const constraint = indexMatch[1]!;
      const table = tableFromQuery(query);
      return { table, constraint, column: undefined };
    }
    const pairs = detail.split(',').map((p) => p.trim().split('.'));
    const table = pairs[0]?.[0];
    const columns = pairs.map((p) => p[1] ?? '');
    const meta = table ? tableMeta(table) : undefined;
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
    const table = tableFromQuery(query) ?? (constraint ? tableOfCheck(constraint) : undefined);
    const column = constraint && table ? columnOfCheck(table, constraint) : undefined;
    return { table, constraint, column };
  }
  return { table: tableFromQuery(query), constraint: undefined, column: undefined };
}

function tableOfCheck(constraint: string): string | undefined {
  return allTableMeta().find((t) => t.checks.includes(constraint))?.name;
}

function columnOfCheck(table: string, constraint: string): string | undefined {
  const meta = tableMeta(table);
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
