/**
 * Key rotation for any kit table, driven by its metadata: every `encrypted()` column is
 * re-encrypted under the active key by `@exora/crypto`'s `rotate()`, reading ciphertexts as
 * stored and writing each row back with a compare-and-set.
 */
import {
  type AnyTable,
  type DomainContext,
  requireService,
  requireUuid,
  run,
  type Statement,
  statement,
  unit,
  ValidationError,
} from '@exora/core';
import {
  type FieldCipher,
  type FieldContext,
  type RotationProgress,
  type RotationResult,
  rotate,
} from '@exora/crypto';
import { and, asc, type Column, eq, gt, type SQL, sql } from 'drizzle-orm';
import { columnOf } from './internal.ts';

export interface RotateEncryptionOptions {
  /** Rows per batch (default 500, at most 10,000). Each batch is read, then saved in one unit. */
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

type Row = Record<string, unknown>;

interface RotationStatements {
  /** The encrypted columns: key and SQL name. */
  readonly secrets: readonly { key: string; name: string }[];
  readonly first: Statement<{ limit: unknown }, Row[]>;
  readonly after: Statement<{ after: unknown; limit: unknown }, Row[]>;
  readonly save: Statement<Record<string, unknown>, number>;
}

const declared = new WeakMap<AnyTable, RotationStatements>();

/** The table's rotation statements, declared once per table. */
function statementsOf(table: AnyTable): RotationStatements {
  const existing = declared.get(table);
  if (existing) return existing;
  const secrets = table.meta.columns
    .filter((c) => c.meta.secret)
    .map((c) => ({ key: c.key, name: c.name }));
  if (secrets.length === 0) throw new Error(`${table.name} has no encrypted column`);
  const touched = table.meta.columns.filter((c) => c.meta.touchOnUpdate).map((c) => c.key);
  const cols = (t: unknown) => t as Record<string, Column>;
  const service = { serviceOnly: true, ciphertext: true } as const;
  // Every column: the encrypted ones as stored, and whatever their ciphertexts are bound to.
  const first = statement.many(
    `${table.name}.rotation.first`,
    table,
    ['limit'],
    ({ db, t, $ }) =>
      db
        .select()
        .from(t)
        .orderBy(asc(columnOf(t, 'id')))
        .limit($.limit),
    service,
  );
  const after = statement.many(
    `${table.name}.rotation.after`,
    table,
    ['after', 'limit'],
    ({ db, t, $ }) =>
      db
        .select()
        .from(t)
        .where(gt(columnOf(t, 'id'), $.after))
        .orderBy(asc(columnOf(t, 'id')))
        .limit($.limit),
    service,
  );
  // Per encrypted column, `new_<key>` (null: leave it) and `prev_<key>`, the value it must still
  // hold. The new values are ciphertexts already: bare placeholders, which the engine does not
  // encrypt again.
  const names = ['id', 'now', ...secrets.flatMap((s) => [`new_${s.key}`, `prev_${s.key}`])];
  const save = statement.count(
    `${table.name}.rotation.save`,
    table,
    names,
    ({ db, t, $ }) => {
      const c = cols(t);
      const set: Record<string, SQL> = {};
      const unchanged: SQL[] = [];
      for (const { key } of secrets) {
        const previous = $[`prev_${key}`];
        set[key] = sql`coalesce(${$[`new_${key}`]}, ${c[key]})`;
        unchanged.push(sql`(cast(${previous} as text) is null or ${c[key]} = ${previous})`);
      }
      for (const key of touched) set[key] = $.bind(columnOf(t, key), 'now');
      return db
        .update(t)
        .set(set as never)
        .where(and(eq(columnOf(t, 'id'), $.id), ...unchanged));
    },
    { serviceOnly: true },
  );
  const result = { secrets, first, after, save } as unknown as RotationStatements;
  declared.set(table, result);
  return result;
}

/**
 * Re-encrypts every value of `table`'s encrypted columns not under the active key, rows in id
 * order, batch by batch. Each row is written with a compare-and-set (each rotated column must
 * still hold the value read), so a value the application changed since the batch was read is
 * left alone and counted as a conflict. Service only.
 */
export async function rotateEncryption(
  ctx: DomainContext,
  table: AnyTable,
  options: RotateEncryptionOptions = {},
): Promise<RotationResult> {
  requireService(ctx.actor, `${table.name}.rotateEncryption`);
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new ValidationError('batchSize', 'must be an integer from 1 to 10000');
  }
  const startAfter =
    options.startAfter == null ? null : requireUuid(options.startAfter, 'startAfter');
  if (options.onBatch !== undefined && typeof options.onBatch !== 'function') {
    throw new ValidationError('onBatch', 'must be a function');
  }
  const s = statementsOf(table);
  const schema = ctx.exec.schema;
  const columnOf = new Map(s.secrets.map((c) => [c.name, (table.pg as never)[c.key] as Column]));
  const keyOf = new Map(s.secrets.map((c) => [c.name, c.key]));

  // rotate() binds a value to `rowId: <row id>`; the engine binds it to the row identity its
  // column names (the id and owner, or a natural key). The batch's rows give that identity.
  const rows = new Map<string, Row>();
  const context = (c: FieldContext): FieldContext => {
    const row = rows.get(c.rowId);
    if (!row) throw new Error('rotateEncryption: a value of a row outside the current batch');
    return schema.secretContext(columnOf.get(c.column), row);
  };
  const { cipher } = ctx.crypto;
  const bound = {
    activeKeyId: cipher.activeKeyId,
    encrypt: (plaintext: Uint8Array | string, c: FieldContext) =>
      cipher.encrypt(plaintext, context(c)),
    decryptBuffer: (ciphertext: string, c: FieldContext) =>
      cipher.decryptBuffer(ciphertext, context(c)),
  } as unknown as FieldCipher;

  return rotate({
    cipher: bound,
    table: table.name,
    columns: [...keyOf.keys()],
    batchSize,
    startAfter,
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.skipUndecryptable ? { skipUndecryptable: true } : {}),
    async fetchBatch(cursor, limit) {
      const batch =
        cursor === null
          ? await run(ctx, s.first, { limit })
          : await run(ctx, s.after, { after: cursor, limit });
      rows.clear();
      return batch.map((row) => {
        const id = row.id as string;
        rows.set(id, row);
        const values: Record<string, string | null> = {};
        for (const [name, key] of keyOf) values[name] = row[key] as string | null;
        return { id, values };
      });
    },
    save: (updates) =>
      unit(ctx, 'write', async (tx) => {
        const now = new Date();
        let written = 0;
        for (const update of updates) {
          const params: Record<string, unknown> = { id: update.id, now };
          for (const [name, key] of keyOf) {
            params[`new_${key}`] = update.values[name] ?? null;
            params[`prev_${key}`] = update.previous[name] ?? null;
          }
          written += await run(tx, s.save, params);
        }
        return written;
      }),
  });
}
