/**
 * Applies and rolls back migration files, with a bookkeeping table:
 *
 *   __exora_migrations(id integer pk (the migration's number), name text unique,
 *                      checksum text (sha256 of the up file), applied_at)
 *
 * Each migration runs with its bookkeeping row in one transaction (Postgres and SQLite DDL are
 * both transactional), so a failure leaves the database as it was before that migration.
 * Postgres: every transaction first takes `pg_advisory_xact_lock(MIGRATION_LOCK)`, then reads
 * the history again, so concurrent deploys apply each migration once. SQLite: the core's
 * transactions are `BEGIN IMMEDIATE`, a write lock on the file; other processes wait for it
 * (busy timeout). The history is checked on every step: an applied migration whose file changed
 * (checksum), an applied migration without a file, or a pending one older than the newest
 * applied stops everything with a message saying what to do.
 *
 * drizzle-kit's SQLite table rebuilds begin with `PRAGMA foreign_keys=OFF`, which SQLite ignores
 * inside a transaction (and a `DROP TABLE` with foreign keys on cascades into the children).
 * Such a migration runs with foreign keys switched off around its transaction, and
 * `PRAGMA foreign_key_check` must come back empty before it commits.
 */
import type { Database, Dialect, Executor } from '@exora/core';
import { sql } from 'drizzle-orm';
import { firstLine, MigrationError, reason } from './errors.ts';
import { type MigrationFile, parseStatements, readMigrations } from './files.ts';

export const HISTORY_TABLE = '__exora_migrations';
/** The advisory lock key every migrating process takes (`exora` in ASCII, as a number). */
export const MIGRATION_LOCK = 0x65786f7261;

export interface AppliedMigration {
  id: number;
  name: string;
  checksum: string;
  appliedAt: string;
}

const FK_OFF = /^PRAGMA\s+foreign_keys\s*=\s*(OFF|0|false)\s*;?$/i;
const FK_ON = /^PRAGMA\s+foreign_keys\s*=\s*(ON|1|true)\s*;?$/i;

function needsForeignKeysOff(statements: readonly string[]): boolean {
  return statements.some((s) => FK_OFF.test(s.trim()) || /^CREATE TABLE [`"]?__new_/i.test(s));
}

function withoutForeignKeyPragmas(statements: readonly string[]): string[] {
  return statements.filter((s) => !FK_OFF.test(s.trim()) && !FK_ON.test(s.trim()));
}

const shortLine = (s: string) => {
  const line = firstLine(s).trim();
  return line.length > 100 ? `${line.slice(0, 100)}...` : line;
};

/** Runs statements in order on `tx`, naming the failing one in the error. */
export async function runStatements(
  tx: Executor,
  statements: readonly string[],
  label: string,
): Promise<void> {
  for (const [i, statement] of statements.entries()) {
    try {
      await tx.execute(sql.raw(statement));
    } catch (error) {
      const cause = reason(error);
      throw new MigrationError(
        `${label} failed at statement ${i + 1} of ${statements.length} (${shortLine(statement)}): ${cause}`,
        { cause: error },
      );
    }
  }
}

/**
 * Runs `work` in one transaction; on SQLite with foreign keys off around it when
 * `foreignKeysOff`, checking them before the commit.
 */
async function inMigrationTransaction<R>(
  db: Database,
  foreignKeysOff: boolean,
  work: (tx: Executor) => Promise<R>,
): Promise<R> {
  const sqliteFkOff = db.dialect === 'sqlite' && foreignKeysOff;
  if (sqliteFkOff) await db.execute(sql.raw('PRAGMA foreign_keys=OFF'));
  try {
    return await db.transaction(async (tx) => {
      const result = await work(tx);
      if (sqliteFkOff) {
        const broken = await tx.execute<{ table: string; parent: string }>(
          sql.raw('PRAGMA foreign_key_check'),
        );
        if (broken.length > 0) {
          const sample = broken
            .slice(0, 3)
            .map((r) => `${r.table} -> ${r.parent}`)
            .join(', ');
          throw new MigrationError(
            `foreign keys broken after the table rebuild (${broken.length} rows: ${sample})`,
          );
        }
      }
      return result;
    });
  } finally {
    if (sqliteFkOff) await db.execute(sql.raw('PRAGMA foreign_keys=ON'));
  }
}

/** Applies statements as a unit (the verify scratch database, generate's SQLite check). */
export async function applyStatements(
  db: Database,
  statements: readonly string[],
  label: string,
): Promise<void> {
  await inMigrationTransaction(db, needsForeignKeysOff(statements), (tx) =>
    runStatements(tx, withoutForeignKeyPragmas(statements), label),
  );
}

async function historyExists(db: Executor): Promise<boolean> {
  if (db.dialect === 'postgres') {
    // Not to_regclass(): it looks the name up without a lock, so it skips catalog invalidations
    // and can answer from a stale cache after another process created the table. A query on
    // pg_class reads it with this statement's snapshot, which sees every committed change.
    const rows = await db.execute<{ present: boolean }>(sql`
      select exists (
        select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relname = ${HISTORY_TABLE} and n.nspname = current_schema()) as present`);
    return rows[0]?.present === true;
  }
  const rows = await db.execute<{ n: number }>(
    sql`select count(*) as n from sqlite_master where type = 'table' and name = ${HISTORY_TABLE}`,
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

export async function ensureHistory(db: Executor): Promise<void> {
  await db.execute(
    sql.raw(
      db.dialect === 'postgres'
        ? `CREATE TABLE IF NOT EXISTS "${HISTORY_TABLE}" ("id" integer PRIMARY KEY, "name" text NOT NULL UNIQUE, "checksum" text NOT NULL, "applied_at" timestamptz NOT NULL DEFAULT now())`
        : `CREATE TABLE IF NOT EXISTS \`${HISTORY_TABLE}\` (\`id\` integer PRIMARY KEY, \`name\` text NOT NULL UNIQUE, \`checksum\` text NOT NULL, \`applied_at\` integer NOT NULL DEFAULT (cast(unixepoch('subsec') * 1000 as integer)))`,
    ),
  );
}

/** The history, oldest first; empty when the table does not exist yet. */
export async function readHistory(db: Executor): Promise<AppliedMigration[]> {
  if (!(await historyExists(db))) return [];
  const rows = await db.execute<{
    id: number;
    name: string;
    checksum: string;
    applied_at: unknown;
  }>(sql.raw(`select id, name, checksum, applied_at from "${HISTORY_TABLE}" order by id`));
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    checksum: r.checksum,
    appliedAt: isoTime(r.applied_at),
  }));
}

/** Postgres returns timestamptz as text through Drizzle, SQLite as integer ms. */
function isoTime(value: unknown): string {
  const date =
    value instanceof Date
      ? value
      : new Date(
          typeof value === 'string'
            ? value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')
            : Number(value),
        );
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

async function lock(tx: Executor): Promise<void> {
  if (tx.dialect === 'postgres') {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
  }
}

type MigrationState = 'applied' | 'pending' | 'edited' | 'no-file' | 'out-of-order';

export interface StatusEntry {
  name: string;
  state: MigrationState;
  appliedAt: string | undefined;
}

/** Every migration known to the files or the database, with its state. */
function compareHistory(
  files: readonly MigrationFile[],
  history: readonly AppliedMigration[],
): StatusEntry[] {
  const applied = new Map(history.map((h) => [h.name, h]));
  const newest = history.reduce((max, h) => Math.max(max, h.id), 0);
  const out: StatusEntry[] = [];
  for (const f of files) {
    const h = applied.get(f.name);
    if (h) {
      out.push({
        name: f.name,
        state: h.checksum === f.checksum ? 'applied' : 'edited',
        appliedAt: h.appliedAt,
      });
    } else {
      out.push({
        name: f.name,
        state: f.number < newest ? 'out-of-order' : 'pending',
        appliedAt: undefined,
      });
    }
  }
  const names = new Set(files.map((f) => f.name));
  for (const h of history) {
    if (!names.has(h.name)) out.push({ name: h.name, state: 'no-file', appliedAt: h.appliedAt });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Throws on anything that makes applying (or rolling back) unsafe. */
function assertConsistent(
  dialect: Dialect,
  root: string,
  files: readonly MigrationFile[],
  history: readonly AppliedMigration[],
): void {
  const newest = history.at(-1);
  for (const entry of compareHistory(files, history)) {
    if (entry.state === 'edited') {
      throw new MigrationError(
        `Migration ${entry.name} was edited after it was applied (its checksum differs from the ` +
          `one recorded in ${HISTORY_TABLE}). Restore the file (git checkout) and put the change ` +
          'in a new migration.',
      );
    }
    if (entry.state === 'no-file') {
      throw new MigrationError(
        `The database has migration ${entry.name} applied, but ${root}/${dialect} has no such ` +
          'file: this checkout is older than the database, or the file was deleted.',
      );
    }
    if (entry.state === 'out-of-order') {
      throw new MigrationError(
        `Migration ${entry.name} is older than ${newest?.name}, the newest applied one: it would ` +
          'run out of order. Give it a number after the newest applied migration.',
      );
    }
  }
}

export interface MigrateResult {
  applied: string[];
}

export interface MigrateOptions {
  /** Called after each migration is applied. */
  onApplied?: (name: string, statements: number, ms: number) => void;
}

/** Applies every pending migration in order, each in its own locked transaction. */
export async function migrate(
  db: Database,
  root: string,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const files = readMigrations(root, db.dialect);
  const applied: string[] = [];
  for (;;) {
    // A first look without the lock, to know whether SQLite needs foreign keys off; the
    // decision is checked again under the lock.
    const peek = await readHistory(db);
    assertConsistent(db.dialect, root, files, peek);
    const done = new Set(peek.map((h) => h.name));
    const candidate = files.find((f) => !done.has(f.name));
    if (!candidate) break;
    const statements = parseStatements(candidate.up);
    if (statements.length === 0) {
      throw new MigrationError(
        `Migration ${candidate.name} has no statements: write its SQL or delete the file.`,
      );
    }
    const started = Date.now();
    const outcome = await inMigrationTransaction(
      db,
      needsForeignKeysOff(statements),
      async (tx) => {
        await lock(tx);
        const existed = await historyExists(tx);
        await ensureHistory(tx);
        const history = existed ? await readHistory(tx) : [];
        assertConsistent(db.dialect, root, files, history);
        const now = new Set(history.map((h) => h.name));
        const next = files.find((f) => !now.has(f.name));
        // Another process got here first: look again.
        if (next?.name !== candidate.name) return 'raced' as const;
        try {
          await runStatements(tx, withoutForeignKeyPragmas(statements), `Migration ${next.name}`);
        } catch (error) {
          if (!existed && error instanceof Error && /already exists/i.test(error.message)) {
            throw new MigrationError(
              `${error.message}. The database has tables but no ${HISTORY_TABLE} history: it was ` +
                'built by another tool. Push to an empty database.',
              { cause: error },
            );
          }
          throw error;
        }
        await tx.execute(
          sql`insert into ${sql.identifier(HISTORY_TABLE)} (id, name, checksum) values (${next.number}, ${next.name}, ${next.checksum})`,
        );
        return 'applied' as const;
      },
    );
    if (outcome === 'applied') {
      applied.push(candidate.name);
      options.onApplied?.(candidate.name, statements.length, Date.now() - started);
    }
  }
  return { applied };
}

export interface RollbackResult {
  rolledBack: string[];
}

/** Undoes the newest applied migrations (`steps` of them) with their down files. */
export async function rollback(db: Database, root: string, steps = 1): Promise<RollbackResult> {
  const files = readMigrations(root, db.dialect);
  const rolledBack: string[] = [];
  for (let i = 0; i < steps; i++) {
    const peek = await readHistory(db);
    const latest = peek.at(-1);
    if (!latest) break;
    const file = files.find((f) => f.name === latest.name);
    if (!file) {
      throw new MigrationError(
        `Cannot roll back ${latest.name}: ${root}/${db.dialect} has no such migration file.`,
      );
    }
    if (file.down === undefined) {
      throw new MigrationError(`Cannot roll back ${file.name}: ${file.downPath} does not exist.`);
    }
    const statements = parseStatements(file.down);
    const outcome = await inMigrationTransaction(
      db,
      needsForeignKeysOff(statements),
      async (tx) => {
        await lock(tx);
        const history = await readHistory(tx);
        if (history.at(-1)?.name !== file.name) return 'raced' as const;
        if (history.at(-1)?.checksum !== file.checksum) {
          throw new MigrationError(
            `Cannot roll back ${file.name}: the file was edited after it was applied, so its ` +
              'down file may not undo what ran. Restore it (git checkout) first.',
          );
        }
        await runStatements(
          tx,
          withoutForeignKeyPragmas(statements),
          `Rollback of ${file.name} (${file.downPath})`,
        );
        await tx.execute(
          sql`delete from ${sql.identifier(HISTORY_TABLE)} where name = ${file.name}`,
        );
        return 'done' as const;
      },
    );
    if (outcome === 'done') rolledBack.push(file.name);
  }
  return { rolledBack };
}

export async function status(db: Database, root: string): Promise<StatusEntry[]> {
  return compareHistory(readMigrations(root, db.dialect), await readHistory(db));
}
