import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import {
  CryptoUsageError,
  DecryptionError,
  type DecryptionFailure,
  UnknownKeyError,
} from './errors.ts';
import { type Env, KEY_ID_PATTERN, type KeyEntry, Keyring, keyEntries } from './keyring.ts';

/** Where a value lives. Bound into the ciphertext as associated data. */
export interface FieldContext {
  /** Database table name, e.g. `oauth_tokens`. */
  table: string;
  /** Database column name, e.g. `access_token`. */
  column: string;
  /** The owning row's primary key, as text. Must be known before the insert (client-side id). */
  rowId: string;
}

/** Format version 1: `ex1.<keyId>.<base64url(nonce[12] | ciphertext | tag[16])>`. */
export const FORMAT_VERSION = 'ex1';
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

const ALGORITHM = 'aes-256-gcm';
const PREFIX = `${FORMAT_VERSION}.`;
const GCM_OPTIONS = { authTagLength: TAG_BYTES } as const;
/** Shortest payload: nonce + tag of an empty plaintext = 28 bytes = 38 base64url characters. */
const MIN_PAYLOAD_CHARS = Math.ceil(((NONCE_BYTES + TAG_BYTES) * 4) / 3);

/**
 * Nonces come from a pool refilled by one `randomFillSync` call per 256 nonces: the same CSPRNG
 * bytes as calling it per value, at a fraction of the per-call overhead. Each 12-byte slice is
 * handed out exactly once, then the pool is refilled.
 */
const NONCE_POOL_SIZE = NONCE_BYTES * 256;
const noncePool = Buffer.allocUnsafe(NONCE_POOL_SIZE);
let noncePoolOffset = NONCE_POOL_SIZE;

function takeNonce(into: Buffer): void {
  if (noncePoolOffset === NONCE_POOL_SIZE) {
    randomFillSync(noncePool);
    noncePoolOffset = 0;
  }
  noncePool.copy(into, 0, noncePoolOffset, noncePoolOffset + NONCE_BYTES);
  noncePoolOffset += NONCE_BYTES;
}

/** Per-key bytes that never change, computed once: text prefix and the AAD header. */
interface PreparedKey {
  readonly entry: KeyEntry;
  /** `ex1.<keyId>.` */
  readonly prefix: string;
  /** The length-prefixed `ex1` and key id that start every AAD under this key. */
  readonly aadHead: Buffer;
  /** AAD up to the row id, per table and column: `aadHead` + length-prefixed table and column. */
  readonly aadPrefixes: Map<string, Map<string, Buffer>>;
  aadPrefixCount: number;
}

/** Distinct (table, column) AAD prefixes cached per key; schemas have far fewer. */
const MAX_CACHED_PREFIXES = 1024;

function lengthPrefixed(parts: readonly string[]): Buffer {
  const bufs = parts.map((p) => Buffer.from(p, 'utf8'));
  const out = Buffer.allocUnsafe(bufs.reduce((n, b) => n + 4 + b.length, 0));
  let o = 0;
  for (const b of bufs) {
    o = out.writeUInt32BE(b.length, o);
    o += b.copy(out, o);
  }
  return out;
}

function checkContext(ctx: FieldContext): void {
  if (
    typeof ctx?.table !== 'string' ||
    typeof ctx.column !== 'string' ||
    typeof ctx.rowId !== 'string' ||
    ctx.table === '' ||
    ctx.column === '' ||
    ctx.rowId === ''
  ) {
    throw new CryptoUsageError(
      'encryption context needs non-empty string table, column and rowId (assign the row id before encrypting)',
    );
  }
}

/**
 * AAD = u32be(len) || bytes, for each of: format version, key id, table, column, row id (UTF-8).
 * Length prefixes make the encoding injective: table "a.b" + column "c" and table "a" + column
 * "b.c" give different AAD. Everything before the row id is cached per key, table and column.
 */
function buildAad(k: PreparedKey, ctx: FieldContext): Buffer {
  checkContext(ctx);
  const { table, column, rowId } = ctx;
  let byColumn = k.aadPrefixes.get(table);
  let prefix = byColumn?.get(column);
  if (prefix === undefined) {
    prefix = Buffer.concat([k.aadHead, lengthPrefixed([table, column])]);
    if (k.aadPrefixCount < MAX_CACHED_PREFIXES) {
      if (byColumn === undefined) {
        byColumn = new Map();
        k.aadPrefixes.set(table, byColumn);
      }
      byColumn.set(column, prefix);
      k.aadPrefixCount++;
    }
  }
  const rl = Buffer.byteLength(rowId, 'utf8');
  const aad = Buffer.allocUnsafe(prefix.length + 4 + rl);
  const o = aad.writeUInt32BE(rl, prefix.copy(aad, 0));
  aad.write(rowId, o, 'utf8');
  return aad;
}

interface Parsed {
  /** Not yet validated: look it up, and check `KEY_ID_PATTERN` before printing it. */
  keyId: string;
  payload: string;
}

/** Splits `ex1.<keyId>.<payload>` without decoding; failures are fixed reason strings. */
function parse(text: unknown): Parsed | DecryptionFailure {
  if (typeof text !== 'string') return 'malformed';
  const d1 = text.indexOf('.');
  if (d1 < 0) return 'malformed';
  const d2 = text.indexOf('.', d1 + 1);
  if (d2 < 0) return 'malformed';
  if (d1 !== FORMAT_VERSION.length || !text.startsWith(PREFIX)) {
    return /^ex[0-9]+$/.test(text.slice(0, d1)) ? 'unsupported-version' : 'malformed';
  }
  return { keyId: text.slice(d1 + 1, d2), payload: text.slice(d2 + 1) };
}

/**
 * Strict, canonical base64url: the payload must be exactly what encoding the decoded bytes gives
 * back (no padding, nothing outside the alphabet, unused trailing bits zero), so each value has one
 * text form and any changed character is rejected. Node's own decoder is lenient (it skips unknown
 * characters, accepts `+`/`/`, ignores trailing bits); the re-encode check is cheaper than a regex.
 */
function decodePayload(payload: string): Buffer | undefined {
  if (payload.length < MIN_PAYLOAD_CHARS) return undefined;
  const raw = Buffer.from(payload, 'base64url');
  return raw.toString('base64url') === payload ? raw : undefined;
}

/** `String.prototype.isWellFormed` (Node 20+; ES2024, newer than this repo's `lib`). */
const isWellFormed = (s: string): boolean =>
  (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The key id a value was encrypted with. Throws `DecryptionError` (malformed) for other text. */
export function keyIdOf(ciphertext: string): string {
  const parsed = parse(ciphertext);
  if (typeof parsed === 'string') throw new DecryptionError(parsed);
  if (!KEY_ID_PATTERN.test(parsed.keyId)) throw new DecryptionError('malformed');
  return parsed.keyId;
}

/** Cheap check that a value has this package's envelope (not that it decrypts). */
export function isEncrypted(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const parsed = parse(value);
  return typeof parsed !== 'string' && KEY_ID_PATTERN.test(parsed.keyId);
}

/**
 * AES-256-GCM field encryption: a fresh random 96-bit nonce per value, 128-bit tag, the value's
 * table/column/row id and the envelope header bound as associated data. Synchronous.
 */
export class FieldCipher {
  readonly keyring: Keyring;
  readonly #active: PreparedKey;
  readonly #keys: ReadonlyMap<string, PreparedKey>;

  constructor(keyring: Keyring) {
    const prepared = new Map<string, PreparedKey>();
    for (const entry of keyEntries(keyring).values()) {
      prepared.set(entry.id, {
        entry,
        prefix: `${PREFIX}${entry.id}.`,
        aadHead: lengthPrefixed([FORMAT_VERSION, entry.id]),
        aadPrefixes: new Map(),
        aadPrefixCount: 0,
      });
    }
    this.keyring = keyring;
    this.#keys = prepared;
    const active = prepared.get(keyring.activeKeyId);
    if (!active) throw new Error('the active key is not in the keyring');
    this.#active = active;
    Object.freeze(this);
  }

  /** `new FieldCipher(Keyring.fromEnv(env))`. */
  static fromEnv(env: Env = process.env): FieldCipher {
    return new FieldCipher(Keyring.fromEnv(env));
  }

  get activeKeyId(): string {
    return this.keyring.activeKeyId;
  }

  /** Encrypts under the active key. Strings are encoded as UTF-8. */
  encrypt(plaintext: string | Uint8Array, context: FieldContext): string {
    const k = this.#active;
    const aad = buildAad(k, context);
    let length: number;
    if (typeof plaintext === 'string') {
      if (!isWellFormed(plaintext)) {
        throw new CryptoUsageError(
          `refusing to encrypt a string with unpaired surrogates for ${context.table}.${context.column} (it would not round-trip through UTF-8)`,
        );
      }
      length = Buffer.byteLength(plaintext, 'utf8');
    } else if (plaintext instanceof Uint8Array) {
      length = plaintext.length;
    } else {
      throw new CryptoUsageError('plaintext must be a string or a Uint8Array');
    }
    // One buffer for the whole payload: nonce | ciphertext | tag.
    const buf = Buffer.allocUnsafe(NONCE_BYTES + length + TAG_BYTES);
    takeNonce(buf);
    const cipher = createCipheriv(
      ALGORITHM,
      k.entry.key,
      buf.subarray(0, NONCE_BYTES),
      GCM_OPTIONS,
    );
    cipher.setAAD(aad);
    const cipherText =
      typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext);
    cipher.final();
    const end = NONCE_BYTES + cipherText.copy(buf, NONCE_BYTES);
    cipher.getAuthTag().copy(buf, end);
    k.entry.encryptions++;
    return k.prefix + buf.toString('base64url');
  }

  /** Decrypts to a UTF-8 string. */
  decrypt(ciphertext: string, context: FieldContext): string {
    return this.decryptBuffer(ciphertext, context).toString('utf8');
  }

  /** Decrypts to bytes. */
  decryptBuffer(ciphertext: string, context: FieldContext): Buffer {
    const where =
      typeof context?.table === 'string' && typeof context.column === 'string'
        ? { table: context.table, column: context.column }
        : undefined;
    const parsed = parse(ciphertext);
    if (typeof parsed === 'string') throw new DecryptionError(parsed, where);
    const k = this.#keys.get(parsed.keyId);
    if (!k) {
      // Only a well-formed id is named in the error: never echo arbitrary input.
      if (!KEY_ID_PATTERN.test(parsed.keyId)) throw new DecryptionError('malformed', where);
      throw new UnknownKeyError(parsed.keyId, where);
    }
    const aad = buildAad(k, context);
    const raw = decodePayload(parsed.payload);
    if (!raw) throw new DecryptionError('malformed', where);
    const tagAt = raw.length - TAG_BYTES;
    try {
      const decipher = createDecipheriv(
        ALGORITHM,
        k.entry.key,
        raw.subarray(0, NONCE_BYTES),
        GCM_OPTIONS,
      );
      decipher.setAAD(aad);
      decipher.setAuthTag(raw.subarray(tagAt));
      const plain = decipher.update(raw.subarray(NONCE_BYTES, tagAt));
      decipher.final();
      return plain;
    } catch {
      // node:crypto's message is generic, but its stack is noise: report a fixed reason.
      throw new DecryptionError('authentication-failed', where);
    }
  }

  /** Whether the value is under a key other than the active one (and so should be rotated). */
  needsRotation(ciphertext: string): boolean {
    return keyIdOf(ciphertext) !== this.keyring.activeKeyId;
  }

  /**
   * Decrypts and encrypts again under the active key, with a fresh nonce. Returns the input
   * unchanged when it is already under the active key and still decrypts.
   */
  reencrypt(ciphertext: string, context: FieldContext): string {
    const plain = this.decryptBuffer(ciphertext, context);
    if (!this.needsRotation(ciphertext)) return ciphertext;
    return this.encrypt(plain, context);
  }

  /**
   * Decrypts a value stored before this envelope existed (older applications' tokens,
   * `encryptedData` + `iv` pairs): bare AES-256-GCM parts under one of the keyring's keys, `legacy` by
   * default. For one-off migrations into the envelope; new code never writes this form.
   */
  decryptUnframed(
    parts: { iv: Uint8Array; ciphertext: Uint8Array; tag: Uint8Array; aad?: Uint8Array },
    keyId = 'legacy',
  ): Buffer {
    const k = this.#keys.get(keyId);
    if (!k) throw new UnknownKeyError(keyId);
    try {
      // Only full 128-bit tags: a shorter tag would weaken every legacy value's integrity.
      const decipher = createDecipheriv(ALGORITHM, k.entry.key, parts.iv, GCM_OPTIONS);
      if (parts.aad) decipher.setAAD(parts.aad);
      decipher.setAuthTag(parts.tag);
      const plain = decipher.update(parts.ciphertext);
      decipher.final();
      return plain;
    } catch {
      throw new DecryptionError('authentication-failed');
    }
  }

  /**
   * Values encrypted by this process, per key id, since start. Export it as a metric: with random
   * nonces a key must stay well under 2^32 encryptions across all processes (README).
   */
  encryptionCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const [id, k] of this.#keys) counts[id] = k.entry.encryptions;
    return counts;
  }

  toString(): string {
    return `FieldCipher(active=${this.keyring.activeKeyId}, keys=[${this.keyring.keyIds.join(',')}])`;
  }

  toJSON(): { type: 'FieldCipher'; activeKeyId: string; keyIds: readonly string[] } {
    return { type: 'FieldCipher', activeKeyId: this.activeKeyId, keyIds: this.keyring.keyIds };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
