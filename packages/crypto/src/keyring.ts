import { createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { CryptoConfigError, CryptoUsageError } from './errors.ts';

/** Key ids: short, printable, and free of the `.` that separates the parts of a ciphertext. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

/** The id the legacy `OAUTH_ENCRYPTION_KEY` gets in the keyring. Reserved. */
export const LEGACY_KEY_ID = 'legacy';

/** AES-256 key length in bytes. */
export const KEY_BYTES = 32;

/** Env vars read by `Keyring.fromEnv`. */
export const ENV = {
  keys: 'EXORA_ENCRYPTION_KEYS',
  activeKeyId: 'EXORA_ENCRYPTION_ACTIVE_KEY',
  legacyKey: 'OAUTH_ENCRYPTION_KEY',
  blindIndexKey: 'EXORA_BLIND_INDEX_KEY',
} as const;

export type Env = Readonly<Record<string, string | undefined>>;

export interface KeyInput {
  /** `[A-Za-z0-9_-]{1,32}`; written into every ciphertext, so never reuse an id for new bytes. */
  id: string;
  /** 32 random bytes. Copied into a `KeyObject`; the caller's buffer is not kept. */
  key: Uint8Array;
}

export interface KeyringOptions {
  keys: readonly KeyInput[];
  /** The key new values are encrypted with. */
  activeKeyId: string;
}

/** @internal What the cipher needs per key. Never leaves the package (not exported by index). */
export interface KeyEntry {
  readonly id: string;
  readonly key: KeyObject;
  /** Encryptions done with this key by this process (see README, "GCM message limit"). */
  encryptions: number;
}

const entries = new WeakMap<Keyring, ReadonlyMap<string, KeyEntry>>();

/** @internal The key objects behind a keyring, for `FieldCipher`. */
export function keyEntries(keyring: Keyring): ReadonlyMap<string, KeyEntry> {
  const found = entries.get(keyring);
  if (!found) throw new CryptoUsageError('not a Keyring built by @exora/crypto');
  return found;
}

const GENERATE_HINT =
  "generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64'))\"";

/**
 * The set of AES-256 keys a process holds: it encrypts with the active key and decrypts with any
 * key it holds. Key bytes live only inside `KeyObject`s in a module-private map; `toString`,
 * `toJSON` and `util.inspect` show ids only.
 */
export class Keyring {
  readonly activeKeyId: string;
  readonly keyIds: readonly string[];

  constructor(options: KeyringOptions) {
    const problems: string[] = [];
    const map = new Map<string, KeyEntry>();
    const raw: { id: string; key: Uint8Array }[] = [];
    for (const [i, input] of options.keys.entries()) {
      const id = input?.id;
      if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) {
        problems.push(`key #${i + 1} has an invalid id: ids match ${KEY_ID_PATTERN.source}`);
        continue;
      }
      if (!(input.key instanceof Uint8Array) || input.key.length !== KEY_BYTES) {
        const len = input.key instanceof Uint8Array ? input.key.length : 'no';
        problems.push(`key "${id}" is ${len} bytes; AES-256 needs exactly ${KEY_BYTES}`);
        continue;
      }
      if (map.has(id)) {
        problems.push(`key id "${id}" appears more than once; every key needs its own id`);
        continue;
      }
      const twin = raw.find((r) => timingSafeEqual(r.key, input.key));
      if (twin) {
        problems.push(
          `keys "${twin.id}" and "${id}" are the same bytes; a new id needs a new random key`,
        );
        continue;
      }
      raw.push({ id, key: input.key });
      map.set(id, { id, key: createSecretKey(Buffer.from(input.key)), encryptions: 0 });
    }
    if (options.keys.length === 0) problems.push('no keys given');
    if (problems.length === 0 && !map.has(options.activeKeyId)) {
      problems.push(
        `active key id "${String(options.activeKeyId)}" is not one of the keys (${[...map.keys()].join(', ')})`,
      );
    }
    if (problems.length > 0) throw new CryptoConfigError(problems);
    this.activeKeyId = options.activeKeyId;
    this.keyIds = Object.freeze([...map.keys()]);
    entries.set(this, map);
    Object.freeze(this);
  }

  /**
   * Reads the keyring from the environment:
   * - `EXORA_ENCRYPTION_KEYS`: comma-separated `id:base64`, each 32 random bytes (standard or
   *   URL-safe base64, padding optional). The LAST entry is active unless
   *   `EXORA_ENCRYPTION_ACTIVE_KEY` names another listed id (used to roll a new key out to every
   *   process before any process encrypts with it).
   * - `OAUTH_ENCRYPTION_KEY` (legacy): exactly 32 ASCII characters, used as the raw key bytes,
   *   under the reserved id `legacy`. Decrypt-only, unless it is the only key configured.
   *
   * Every problem found is reported at once in one `CryptoConfigError`, naming the env var.
   */
  static fromEnv(env: Env = process.env): Keyring {
    const problems: string[] = [];
    const keys: KeyInput[] = [];
    const list = env[ENV.keys]?.trim() ?? '';
    const legacy = env[ENV.legacyKey] ?? '';
    const activeOverride = env[ENV.activeKeyId]?.trim() ?? '';

    if (list !== '') {
      const seen = new Set<string>();
      for (const [i, part] of list.split(',').entries()) {
        const entry = part.trim();
        const where = `${ENV.keys} entry #${i + 1}`;
        if (entry === '') {
          problems.push(`${where} is empty (stray comma?); the format is id:base64,id:base64`);
          continue;
        }
        const colon = entry.indexOf(':');
        if (colon < 0) {
          problems.push(`${where} has no ":"; the format is id:base64 (e.g. k1:<44 chars>)`);
          continue;
        }
        const id = entry.slice(0, colon).trim();
        if (!KEY_ID_PATTERN.test(id)) {
          problems.push(
            `${where} has an invalid key id; ids are 1-32 characters of A-Z a-z 0-9 _ -`,
          );
          continue;
        }
        if (id === LEGACY_KEY_ID) {
          problems.push(
            `${ENV.keys} uses the reserved id "${LEGACY_KEY_ID}"; it belongs to ${ENV.legacyKey}, pick another id`,
          );
          continue;
        }
        if (seen.has(id)) {
          problems.push(`${ENV.keys} lists key id "${id}" more than once; ids must be unique`);
          continue;
        }
        seen.add(id);
        const decoded = decodeBase64Key(entry.slice(colon + 1).trim());
        if (decoded === 'bad-encoding') {
          problems.push(`${ENV.keys} key "${id}" is not valid base64; ${GENERATE_HINT}`);
          continue;
        }
        if (decoded.length !== KEY_BYTES) {
          problems.push(
            `${ENV.keys} key "${id}" decodes to ${decoded.length} bytes; it must be ${KEY_BYTES} random bytes, ${GENERATE_HINT}`,
          );
          continue;
        }
        keys.push({ id, key: decoded });
      }
    }

    let legacyOnlyDecrypt = false;
    if (legacy !== '') {
      const bytes = Buffer.from(legacy, 'utf8');
      if (legacy.length !== KEY_BYTES || bytes.length !== KEY_BYTES) {
        problems.push(
          `${ENV.legacyKey} must be exactly ${KEY_BYTES} ASCII characters (it is ${legacy.length} characters, ${bytes.length} bytes)`,
        );
      } else {
        keys.push({ id: LEGACY_KEY_ID, key: bytes });
        legacyOnlyDecrypt = list !== '';
      }
    }

    if (list === '' && legacy === '') {
      problems.push(
        `no encryption key configured: set ${ENV.keys}=k1:<base64 of 32 random bytes>; ${GENERATE_HINT}`,
      );
    }

    const listed = keys.filter((k) => k.id !== LEGACY_KEY_ID);
    let activeKeyId = listed.at(-1)?.id ?? (legacyOnlyDecrypt ? '' : LEGACY_KEY_ID);
    if (activeOverride !== '') {
      if (!listed.some((k) => k.id === activeOverride) && problems.length === 0) {
        problems.push(
          `${ENV.activeKeyId}="${KEY_ID_PATTERN.test(activeOverride) ? activeOverride : '(invalid id)'}" is not a key id listed in ${ENV.keys} (${listed.map((k) => k.id).join(', ') || 'none'})`,
        );
      }
      activeKeyId = activeOverride;
    }
    if (problems.length === 0 && activeKeyId === '') {
      problems.push(`no active key: ${ENV.keys} lists no usable key`);
    }
    if (problems.length > 0) throw new CryptoConfigError(problems);

    try {
      return new Keyring({ keys, activeKeyId });
    } catch (error) {
      // Same bytes under two ids etc.: say which env vars were read.
      if (error instanceof CryptoConfigError) {
        throw new CryptoConfigError(
          error.problems.map((p) => `${p} (read from ${ENV.keys}/${ENV.legacyKey})`),
        );
      }
      throw error;
    }
  }

  /** Whether this keyring holds a key with this id. */
  has(keyId: string): boolean {
    return keyEntries(this).has(keyId);
  }

  toString(): string {
    return `Keyring(active=${this.activeKeyId}, keys=[${this.keyIds.join(',')}])`;
  }

  toJSON(): { type: 'Keyring'; activeKeyId: string; keyIds: readonly string[] } {
    return { type: 'Keyring', activeKeyId: this.activeKeyId, keyIds: this.keyIds };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Strict base64 (standard or URL-safe, padding optional): Node's own decoder silently skips
 * characters outside the alphabet, which would turn a typo into a short (or different) key.
 */
export function decodeBase64Key(text: string): Buffer | 'bad-encoding' {
  if (text === '' || !(B64.test(text) || B64URL.test(text))) return 'bad-encoding';
  const body = text.replace(/=+$/, '');
  if (body.length % 4 === 1) return 'bad-encoding';
  const padded = text.length - body.length;
  if (padded > 0 && text.length % 4 !== 0) return 'bad-encoding';
  const bytes = Buffer.from(body, B64.test(text) ? 'base64' : 'base64url');
  // Reject non-canonical encodings (non-zero unused bits in the last character).
  const canonical = bytes.toString('base64url');
  if (canonical !== body.replace(/\+/g, '-').replace(/\//g, '_')) return 'bad-encoding';
  return bytes;
}
