/**
 * `db:generate`: the next migration of each dialect, from the newest snapshot to the schema.
 * Refuses (writes nothing, for either dialect) when a migration would drop a table or column,
 * truncate or rebuild a SQLite table, unless `allowDestructive` gives the reason, which goes on
 * the file's `-- exora:allow-destructive` line. The SQLite migration is tried on a scratch
 * in-memory database (all migrations up, the new one down and up again) before it is written.
 */
import { connect, type Dialect } from '@exora/core';
import {
  currentSnapshot,
  describeChange,
  emptySnapshot,
  type MigrationPlan,
  planMigration,
  type Snapshot,
  snapshotId,
} from './diff.ts';
import { firstLine, MigrationError } from './errors.ts';
import {
  CUSTOM_MARKER,
  type DestructiveStatement,
  destructiveStatements,
  type MigrationFile,
  nextName,
  parseStatements,
  readMigrations,
  readSnapshot,
  renderFile,
  writeMigration,
} from './files.ts';
import { applyStatements } from './migrator.ts';
import type { SchemaSource } from './source.ts';

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

export interface GenerateOptions {
  source: SchemaSource;
  /** The migrations root (`drizzle/`). */
  dir: string;
  dialects?: readonly Dialect[];
  /** The slug of the new migration (default: from what changed). */
  name?: string;
  /** Why a destructive migration is intended; without it such a migration is refused. */
  allowDestructive?: string;
  /** An empty hand-written migration instead of a generated one. */
  custom?: boolean;
}

export interface DialectResult {
  dialect: Dialect;
  status: 'unchanged' | 'written';
  name?: string;
  paths: string[];
  statements: number;
  destructive: DestructiveStatement[];
}

export class DestructiveMigrationError extends MigrationError {
  override readonly name = 'DestructiveMigrationError';
  constructor(readonly found: { dialect: Dialect; statements: DestructiveStatement[] }[]) {
    const lines = found.flatMap(({ dialect, statements }) =>
      statements.map((s) => `  ${dialect}: ${s.reason}: ${firstLine(s.statement).slice(0, 120)}`),
    );
    super(
      [
        'The new migration would lose data or rebuild a table:',
        ...lines,
        'Nothing was written. If this is intended, generate again with',
        '  --allow-destructive "<why it is safe>"',
        'which marks the migration with an `-- exora:allow-destructive <why>` line.',
      ].join('\n'),
    );
  }
}

/** The newest snapshot of a dialect's history (the empty schema when there is none). */
async function latestSnapshot(
  files: readonly MigrationFile[],
  dialect: Dialect,
): Promise<Snapshot> {
  const last = files.at(-1);
  return last ? readSnapshot(last) : emptySnapshot(dialect);
}

/** What a migration from the newest snapshot to the schema would contain. */
export async function pendingChange(
  source: SchemaSource,
  dir: string,
  dialect: Dialect,
): Promise<{ files: MigrationFile[]; prev: Snapshot; cur: Snapshot; plan: MigrationPlan }> {
  const files = readMigrations(dir, dialect);
  const prev = await latestSnapshot(files, dialect);
  const cur = await currentSnapshot(source, dialect);
  return { files, prev, cur, plan: await planMigration(dialect, prev, cur) };
}

/** Runs the whole SQLite history, then the new migration down and up, on `:memory:`. */
async function trySqlite(files: readonly MigrationFile[], up: string[], down: string[]) {
  const db = connect(':memory:');
  try {
    for (const f of files) await applyStatements(db, parseStatements(f.up), `Migration ${f.name}`);
    await applyStatements(db, up, 'The new SQLite migration');
    await applyStatements(db, down, 'The new SQLite down migration');
    await applyStatements(db, up, 'The new SQLite migration, after its down migration,');
  } catch (error) {
    throw new MigrationError(
      `${(error as Error).message}\nNothing was written: SQLite cannot run what drizzle-kit ` +
        'generated for this change. Split the change, or write it as a custom migration ' +
        '(pnpm db:generate --custom).',
      { cause: error },
    );
  } finally {
    await db.close();
  }
}

export async function generate(options: GenerateOptions): Promise<DialectResult[]> {
  const dialects = options.dialects ?? DIALECTS;
  if (options.custom) return generateCustom(options, dialects);

  const planned: {
    dialect: Dialect;
    files: MigrationFile[];
    prev: Snapshot;
    cur: Snapshot;
    plan: MigrationPlan;
    destructive: DestructiveStatement[];
  }[] = [];
  for (const dialect of dialects) {
    const change = await pendingChange(options.source, options.dir, dialect);
    planned.push({
      dialect,
      ...change,
      destructive: destructiveStatements(change.plan.up.statements),
    });
  }

  const unmarked = planned.filter((p) => p.destructive.length > 0);
  if (unmarked.length > 0 && !options.allowDestructive?.trim()) {
    throw new DestructiveMigrationError(
      unmarked.map((p) => ({ dialect: p.dialect, statements: p.destructive })),
    );
  }
  for (const p of planned) {
    if (!p.plan.empty && p.dialect === 'sqlite') {
      await trySqlite(p.files, p.plan.up.statements, p.plan.down.statements);
    }
  }

  const results: DialectResult[] = [];
  for (const p of planned) {
    if (p.plan.empty) {
      results.push({
        dialect: p.dialect,
        status: 'unchanged',
        paths: [],
        statements: 0,
        destructive: [],
      });
      continue;
    }
    const name = nextName(p.files, options.name ?? describeChange(p.prev, p.cur));
    const destructiveReason =
      p.destructive.length > 0 ? options.allowDestructive?.trim() : undefined;
    const snapshot: Snapshot = {
      drizzle: { ...p.cur.drizzle, id: snapshotId(p.dialect, name), prevId: p.prev.drizzle.id },
      objects: p.cur.objects,
    };
    const paths = writeMigration(options.dir, {
      dialect: p.dialect,
      name,
      up: renderFile(
        p.plan.up.statements,
        destructiveReason === undefined ? {} : { allowDestructive: destructiveReason },
      ),
      down: renderFile(p.plan.down.statements),
      snapshot,
    });
    results.push({
      dialect: p.dialect,
      status: 'written',
      name,
      paths,
      statements: p.plan.up.statements.length,
      destructive: p.destructive,
    });
  }
  return results;
}

async function generateCustom(
  options: GenerateOptions,
  dialects: readonly Dialect[],
): Promise<DialectResult[]> {
  const results: DialectResult[] = [];
  for (const dialect of dialects) {
    const files = readMigrations(options.dir, dialect);
    const prev = await latestSnapshot(files, dialect);
    const name = nextName(files, options.name ?? 'custom');
    const header = [
      CUSTOM_MARKER,
      `-- A hand-written ${dialect} migration: one statement per chunk, chunks separated by`,
      '-- `--> statement-breakpoint` lines. Add `-- exora:allow-destructive <why>` if it drops,',
      '-- truncates or rebuilds anything.',
    ].join('\n');
    const downHeader = `${CUSTOM_MARKER}\n-- Undo ${name} here (run by pnpm db:rollback).`;
    const paths = writeMigration(options.dir, {
      dialect,
      name,
      up: `${header}\n`,
      down: `${downHeader}\n`,
      snapshot: {
        drizzle: { ...prev.drizzle, id: snapshotId(dialect, name), prevId: prev.drizzle.id },
        objects: prev.objects,
      },
    });
    results.push({ dialect, status: 'written', name, paths, statements: 0, destructive: [] });
  }
  return results;
}
