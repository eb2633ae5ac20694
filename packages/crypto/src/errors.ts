/**
 * Every error this package throws. None of them ever carries plaintext, key material or a
 * ciphertext in its message or properties: only names (env vars, key ids, table/column names)
 * and fixed reasons.
 */

/** Base class, so callers can catch everything from this package with one `instanceof`. */
export class CryptoError extends Error {
  override name = 'CryptoError';
}

/**
 * Start-up configuration is unusable. `problems` lists every problem found (not only the
 * first), each naming the env var and what to do; never the key material.
 */
export class CryptoConfigError extends CryptoError {
  override name = 'CryptoConfigError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid crypto configuration: ${problems[0]}`
        : `invalid crypto configuration (${problems.length} problems):\n- ${problems.join('\n- ')}`,
    );
    this.problems = problems;
  }
}

/** Why a value could not be decrypted. Fixed strings: safe to log and to count in metrics. */
export type DecryptionFailure =
  | 'malformed'
  | 'unsupported-version'
  | 'unknown-key'
  | 'authentication-failed';

const REASONS: Record<DecryptionFailure, string> = {
  malformed: 'the value is not a well-formed encrypted value',
  'unsupported-version': 'the value uses an unsupported format version',
  'unknown-key': 'the value was encrypted with a key this keyring does not hold',
  'authentication-failed':
    'authentication failed (wrong key, tampered value, or the value belongs to another table, column or row)',
};

/**
 * A value could not be decrypted. The message names the table and column it was read for and a
 * fixed reason; never the row id, the ciphertext, the plaintext or the key.
 */
export class DecryptionError extends CryptoError {
  override name = 'DecryptionError';
  readonly reason: DecryptionFailure;
  readonly table: string | undefined;
  readonly column: string | undefined;

  constructor(
    reason: DecryptionFailure,
    where?: { table: string; column: string },
    message?: string,
  ) {
    const place = where ? ` for ${where.table}.${where.column}` : '';
    super(message ?? `could not decrypt value${place}: ${REASONS[reason]}`);
    this.reason = reason;
    this.table = where?.table;
    this.column = where?.column;
  }
}

/**
 * The value names a key id the keyring does not hold (a key was removed too early, or the
 * process runs with an outdated EXORA_ENCRYPTION_KEYS). A `DecryptionError`, so one catch covers
 * both; the message names the key id (ids are not secret), never the key.
 */
export class UnknownKeyError extends DecryptionError {
  override name = 'UnknownKeyError';
  readonly keyId: string;

  constructor(keyId: string, where?: { table: string; column: string }) {
    const place = where ? ` for ${where.table}.${where.column}` : '';
    super(
      'unknown-key',
      where,
      `could not decrypt value${place}: it was encrypted with key id "${keyId}", which this keyring does not hold (add it back to EXORA_ENCRYPTION_KEYS)`,
    );
    this.keyId = keyId;
  }
}

/** The caller passed something unusable (bad context, wrong type). A programming error. */
export class CryptoUsageError extends CryptoError {
  override name = 'CryptoUsageError';
}

/** A password was rejected before hashing: empty, too long, or not a string. */
export class PasswordInputError extends CryptoError {
  override name = 'PasswordInputError';
  readonly reason: 'empty' | 'too-long' | 'not-a-string';

  constructor(reason: 'empty' | 'too-long' | 'not-a-string', message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A stored password hash is in no format this package knows (not Argon2, not bcrypt). */
export class PasswordHashFormatError extends CryptoError {
  override name = 'PasswordHashFormatError';
}
