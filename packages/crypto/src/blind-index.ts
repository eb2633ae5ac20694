import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { CryptoConfigError, CryptoUsageError } from './errors.ts';
import { decodeBase64Key, ENV, type Env, KEY_BYTES } from './keyring.ts';

/**
 * How the input is normalised before hashing:
 * - `'default'`: trim surrounding whitespace, then Unicode NFC (API keys, tokens).
 * - `'lowercase'`: as default, then lower-cased (e-mail addresses, usernames).
 * - `'none'`: the exact string.
 */
export type BlindIndexNormalization = 'default' | 'lowercase' | 'none';

export interface BlindIndexOptions {
  normalize?: BlindIndexNormalization;
  /**
   * Separates indexes of different columns (e.g. `api_keys.key_hash`), so equal values in two
   * columns do not get equal index values. Use the same context for writing and looking up.
   */
  context?: string;
  /** Output encoding (default `hex`, 64 characters). */
  encoding?: 'hex' | 'base64url';
}

/** Applies a `BlindIndexNormalization`. Exported so callers can show or test what is indexed. */
export function normalizeForIndex(
  value: string,
  mode: BlindIndexNormalization = 'default',
): string {
  if (mode === 'none') return value;
  const base = value.trim().normalize('NFC');
  return mode === 'lowercase' ? base.toLowerCase() : base;
}

/**
 * A keyed, deterministic index of a secret, for finding a row by its plaintext (the
 * `api_keys.key_hash`) without storing anything readable: HMAC-SHA256 under its own 32-byte key,
 * never the encryption key and never a bare hash (a bare SHA-256 of a guessable value can be
 * brute-forced offline; an HMAC cannot without the key).
 */
export class BlindIndex {
  readonly #key: KeyObject;

  constructor(key: Uint8Array) {
    if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
      throw new CryptoConfigError([`blind index key must be exactly ${KEY_BYTES} bytes`]);
    }
    this.#key = createSecretKey(Buffer.from(key));
    Object.freeze(this);
  }

  /** Reads `EXORA_BLIND_INDEX_KEY` (base64 of 32 random bytes). */
  static fromEnv(env: Env = process.env): BlindIndex {
    const text = env[ENV.blindIndexKey]?.trim() ?? '';
    if (text === '') {
      throw new CryptoConfigError([
        `${ENV.blindIndexKey} is not set: it must be base64 of 32 random bytes, separate from every encryption key`,
      ]);
    }
    const key = decodeBase64Key(text);
    if (key === 'bad-encoding') {
      throw new CryptoConfigError([`${ENV.blindIndexKey} is not valid base64`]);
    }
    if (key.length !== KEY_BYTES) {
      throw new CryptoConfigError([
        `${ENV.blindIndexKey} decodes to ${key.length} bytes; it must be ${KEY_BYTES} random bytes`,
      ]);
    }
    return new BlindIndex(key);
  }

  /** HMAC-SHA256(key, u32be(len(context)) || context || normalised value), hex or base64url. */
  hash(value: string, options: BlindIndexOptions = {}): string {
    if (typeof value !== 'string') throw new CryptoUsageError('blind index input must be a string');
    const context = options.context ?? '';
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(Buffer.byteLength(context, 'utf8'));
    return createHmac('sha256', this.#key)
      .update(len)
      .update(context, 'utf8')
      .update(normalizeForIndex(value, options.normalize), 'utf8')
      .digest(options.encoding ?? 'hex');
  }

  /** Whether `value` hashes to `expected`, compared in constant time. */
  matches(value: string, expected: string, options: BlindIndexOptions = {}): boolean {
    return constantTimeEqual(this.hash(value, options), expected);
  }

  toString(): string {
    return 'BlindIndex([redacted])';
  }

  toJSON(): { type: 'BlindIndex' } {
    return { type: 'BlindIndex' };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * Constant-time equality of two strings (compared as UTF-8) or byte arrays. Time depends only on
 * the length of `a`, not on where the inputs differ; different lengths return `false`.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
  const y = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  if (x.length !== y.length) {
    timingSafeEqual(x, x); // same work as a real comparison, result discarded
    return false;
  }
  return timingSafeEqual(x, y);
}
