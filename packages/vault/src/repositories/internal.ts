/**
 * What the four vault repositories share: who a call is about, input checks for secrets and
 * JSON, and key rotation over a real table.
 */
import {
  type AnyTable,
  actAs,
  requirePlainObject,
  requireService,
  requireUuid,
  ValidationError,
} from '@exora/core';
import {
  type FieldContext,
  type RotationProgress,
  type RotationResult,
  rotate,
} from '@exora/crypto';
import type { DomainContext } from '@exora/identity';
import { and, asc, type Column, eq, gt, type SQL } from 'drizzle-orm';

/** `String.prototype.isWellFormed` (Node 20+; ES2024, newer than this repo's `lib`). */
const isWellFormed = (s: string): boolean =>
  (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * A secret as given: a non-blank string, kept exactly (no trimming), of well-formed Unicode
 * (the cipher refuses unpaired surrogates; checking here keeps the refusal before any SQL).
 */
export function requireSecret(
  value: unknown,
  field: string,
  options: { min?: number; max?: number; noWhitespace?: boolean } = {},
): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  if (value.trim().length === 0) throw new ValidationError(field, 'must not be empty');
  const min = options.min ?? 1;
  const max = options.max ?? 16_384;
  if (value.length < min) throw new ValidationError(field, `must be at least ${min} characters`);
  if (value.length > max) throw new ValidationError(field, `must be at most ${max} characters`);
  if (!isWellFormed(value)) {
    throw new ValidationError(field, 'must be well-formed Unicode (no unpaired surrogates)');
  }
  if (options.noWhitespace && /\s/.test(value)) {
    throw new ValidationError(field, 'must not contain whitespace');
  }
  return value;
}

/** `undefined` stays undefined (leave as is), `null` clears, a string is checked as a secret. */
export function optionalSecret(
  value: unknown,
  field: string,
  options: { max?: number } = {},
): string | null | undefined {
  if (value === undefined || value === null) return value;
  return requireSecret(value, field, options);
}

/** A plain object that survives `JSON.stringify`; returns it and its JSON text. */
export function requireJsonObject(
  value: unknown,
  field: string,
  options: { maxBytes?: number } = {},
): { value: Record<string, unknown>; json: string } {
  const object = requirePlainObject(value, field);
  let json: string;
  try {
    json = JSON.stringify(object);
  } catch {
    throw new ValidationError(field, 'must be JSON-serialisable (no BigInt, no cycles)');
  }
  const maxBytes = options.maxBytes ?? 65_536;
  if (Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new ValidationError(field, `must be at most ${maxBytes} bytes as JSON`);
  }
  return { value: JSON.parse(json) as Record<string, unknown>, json };
}

/** The encryption context of one secret column of one row. */
export function fieldContext(table: string, column: string, rowId: string): FieldContext {
  return { table, column, rowId };
}

// ---------------------------------------------------------------------------------------------
// Key rotation over a real table.

export interface RotateEncryptionOptions {
  /** Rows per batch (default 500, at most 10,000). Each batch is fetched and saved in its own transaction. */
  batchSize?: number;
  /** Resume after this row id (a `cursor` reported by an earlier run's `onBatch` or result). */
  startAfter?: string | null;
  /** Called after each batch is saved: persist `progress.cursor` to resume after a crash. */
  onBatch?(progress: RotationProgress): Promise<void> | void;
  /** Stop cleanly between batches; the result then has `done: false` and a `cursor`. */
  signal?: AbortSignal;
  /** Count rows whose values do not decrypt as `failed` and go on, instead of throwing. */
  skipUndecryptable?: boolean;
}

/**
 * Re-encrypts every value of `columns` (SQL name → the Drizzle property) not under the active
 * key: `@exora/crypto`'s `rotate()` over the real table, rows in id order, each write a
 * compare-and-set (`where id = ? and <column> = <previous>` for every rotated column), so a
 * value the application changed since the batch was read is left alone and counted as a
 * conflict. Service only.
 */
export async function rotateTable(
  ctx: DomainContext,
  what: string,
  kitTable: AnyTable,
  columns: Readonly<Record<string, string>>,
  options: RotateEncryptionOptions = {},
): Promise<RotationResult> {
  const { actor } = ctx;
  requireService(actor, what);
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new ValidationError('batchSize', 'must be an integer from 1 to 10000');
  }
  const startAfter =
    options.startAfter == null ? null : requireUuid(options.startAfter, 'startAfter');
  if (options.onBatch !== undefined && typeof options.onBatch !== 'function') {
    throw new ValidationError('onBatch', 'must be a function');
  }
  const sqlNames = Object.keys(columns);
  const col = (t: any, sqlName: string): Column => t[columns[sqlName]!] as Column;

  return rotate({
    cipher: ctx.crypto.cipher,
    table: kitTable.name,
    columns: sqlNames,
    batchSize,
    startAfter,
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.skipUndecryptable ? { skipUndecryptable: true } : {}),
    fetchBatch: (after, limit) =>
      actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(kitTable) as any;
        const selection: Record<string, any> = { id: t.id };
        for (const name of sqlNames) selection[name] = col(t, name);
        const rows = (await tx.db
          .select(selection)
          .from(t)
          .where(after === null ? undefined : gt(t.id, after))
          .orderBy(asc(t.id))
          .limit(limit)) as Record<string, string | null>[];
        return rows.map((row) => {
          const { id, ...values } = row;
          return { id: id as string, values };
        });
      }),
    save: (updates) =>
      actAs(ctx.exec, actor, async (tx) => {
        const t = tx.table(kitTable) as any;
        let written = 0;
        for (const update of updates) {
          const set: Record<string, string> = {};
          const matches: SQL[] = [eq(t.id, update.id)];
          for (const [name, value] of Object.entries(update.values)) {
            set[columns[name]!] = value;
            matches.push(eq(col(t, name), update.previous[name]!));
          }
          const rows = await tx.db
            .update(t)
            .set(set)
            .where(and(...matches))
            .returning({ id: t.id });
          written += rows.length;
        }
        return written;
      }),
  });
}
