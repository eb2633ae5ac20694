import { CryptoUsageError, DecryptionError } from './errors.ts';
import { type FieldCipher, keyIdOf } from './field-cipher.ts';

/** One row as `fetchBatch` returns it. */
export interface RotationRow {
  /** Primary key, used as the row id in the AAD and as the cursor (rows come in id order). */
  id: string;
  /** The row's encrypted columns by column name; `null`/`undefined` for no value. */
  values: Readonly<Record<string, string | null | undefined>>;
}

/** One row to write back. */
export interface RotationUpdate {
  id: string;
  /** New ciphertexts, only for the columns that were re-encrypted. */
  values: Record<string, string>;
  /**
   * The ciphertexts they replace. Write with a compare-and-set
   * (`UPDATE t SET c = :new WHERE id = :id AND c = :previous`) so a value the application changed
   * since `fetchBatch` is not overwritten with an older one.
   */
  previous: Record<string, string>;
}

export interface RotationProgress {
  scanned: number;
  /** Rows re-encrypted and written. */
  rotated: number;
  /** Rows with nothing to re-encrypt (all values already under the active key, or empty). */
  skipped: number;
  /** Individual values re-encrypted. */
  values: number;
  /** Rows left alone because a value would not decrypt (only with `skipUndecryptable`). */
  failed: number;
  /** Rows `save` reported as not written (compare-and-set lost to a concurrent write). */
  conflicts: number;
  batches: number;
  /** Id of the last row of the last completed batch: pass as `startAfter` to resume. */
  cursor: string | null;
}

export interface RotationResult extends RotationProgress {
  /** `false` when stopped early by `signal`; resume from `cursor`. */
  done: boolean;
}

export interface RotateOptions {
  cipher: FieldCipher;
  /** Table name, as used in the AAD when the values were written. */
  table: string;
  /** Encrypted columns to rotate; each must be a key of every row's `values`. */
  columns: readonly string[];
  /** Up to `limit` rows with id greater than `afterCursor` (`null`: from the start), ascending. */
  fetchBatch(
    afterCursor: string | null,
    limit: number,
  ): Promise<readonly RotationRow[]> | readonly RotationRow[];
  /** Persists one batch; may return how many rows it really wrote (the rest count as conflicts). */
  save(updates: RotationUpdate[]): Promise<number | undefined> | number | undefined;
  /** Rows per batch (default 500). */
  batchSize?: number;
  /** Resume after this id (a `cursor` from an earlier run or `onBatch`). */
  startAfter?: string | null;
  /** Called after each batch is saved: persist `progress.cursor` to resume after a crash. */
  onBatch?(progress: RotationProgress): Promise<void> | void;
  /** Stop cleanly between batches. */
  signal?: AbortSignal;
  /** Count rows whose values do not decrypt as `failed` and go on, instead of throwing. */
  skipUndecryptable?: boolean;
}

/**
 * Re-encrypts every value not under the active key, batch by batch in id order. Storage-agnostic:
 * the caller supplies `fetchBatch` and `save`. Resumable: it is idempotent (values already under
 * the active key are skipped without decrypting) and starts from `startAfter`, so after a crash
 * it can be rerun from the last `cursor` reported by `onBatch`, or from the start.
 */
export async function rotate(options: RotateOptions): Promise<RotationResult> {
  const { cipher, table, columns, fetchBatch, save, onBatch, signal } = options;
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new CryptoUsageError('rotate: batchSize must be a positive integer');
  }
  if (columns.length === 0) throw new CryptoUsageError('rotate: no columns given');
  const active = cipher.activeKeyId;
  const progress: RotationProgress = {
    scanned: 0,
    rotated: 0,
    skipped: 0,
    values: 0,
    failed: 0,
    conflicts: 0,
    batches: 0,
    cursor: options.startAfter ?? null,
  };

  let previousIds = new Set<string>();
  while (!signal?.aborted) {
    const rows = await fetchBatch(progress.cursor, batchSize);
    if (rows.length === 0) return { ...progress, done: true };
    const updates: RotationUpdate[] = [];
    let skipped = 0;
    let failed = 0;
    let values = 0;
    let last = progress.cursor;
    const ids = new Set<string>();
    for (const row of rows) {
      // A fetchBatch that ignores the cursor would loop forever: refuse repeated ids.
      if (
        typeof row.id !== 'string' ||
        row.id === progress.cursor ||
        ids.has(row.id) ||
        previousIds.has(row.id)
      ) {
        throw new CryptoUsageError(
          'rotate: fetchBatch must return rows with unique string ids, strictly after the cursor',
        );
      }
      ids.add(row.id);
      last = row.id;
      const update: RotationUpdate = { id: row.id, values: {}, previous: {} };
      let changed = 0;
      try {
        for (const column of columns) {
          const value = row.values[column];
          if (value === null || value === undefined) continue;
          if (keyIdOf(value) === active) continue;
          const context = { table, column, rowId: row.id };
          update.values[column] = cipher.encrypt(cipher.decryptBuffer(value, context), context);
          update.previous[column] = value;
          changed++;
        }
      } catch (error) {
        if (options.skipUndecryptable && error instanceof DecryptionError) {
          failed++;
          continue;
        }
        throw error;
      }
      if (changed === 0) skipped++;
      else {
        updates.push(update);
        values += changed;
      }
    }
    const written = updates.length > 0 ? await save(updates) : 0;
    const saved = typeof written === 'number' ? Math.min(written, updates.length) : updates.length;
    progress.scanned += rows.length;
    progress.rotated += saved;
    progress.conflicts += updates.length - saved;
    progress.skipped += skipped;
    progress.failed += failed;
    progress.values += values;
    progress.batches++;
    progress.cursor = last;
    previousIds = ids;
    await onBatch?.({ ...progress });
    if (rows.length < batchSize) return { ...progress, done: true };
  }
  return { ...progress, done: false };
}
