import { randomBytes } from 'node:crypto';
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { verify as bcryptVerify } from '@node-rs/bcrypt';
import { PasswordHashFormatError, PasswordInputError } from './errors.ts';

/**
 * `Algorithm.Argon2id` and `Version.V0x13` of @node-rs/argon2 are `const enum`s, which
 * `isolatedModules`/`verbatimModuleSyntax` cannot import; these are their numeric values.
 */
const ARGON2ID = 2;
const ARGON2_VERSION_0X13 = 1;

/**
 * Argon2id parameters for new hashes: OWASP's minimum recommendation (Password Storage Cheat
 * Sheet: m = 19 MiB, t = 2, p = 1), every parameter set explicitly.
 */
export const PASSWORD_PARAMS = Object.freeze({
  algorithm: 'argon2id',
  /** Memory in KiB (19 MiB). */
  memoryCost: 19456,
  /** Passes over memory. */
  timeCost: 2,
  /** Lanes. */
  parallelism: 1,
  /** Hash length in bytes. */
  outputLen: 32,
  /** Salt length in bytes, from `crypto.randomBytes`. */
  saltLen: 16,
  /** Argon2 version 1.3 (0x13 = 19). */
  version: 19,
});

/** Longest password accepted, in characters: bounds the work an attacker can make us do. */
export const MAX_PASSWORD_LENGTH = 1024;

export interface PasswordVerification {
  valid: boolean;
  /** `true` when the password was right but the hash is weaker than `PASSWORD_PARAMS` or bcrypt:
   * store `await hashPassword(plain)` in its place now, while the plaintext is at hand. */
  needsRehash: boolean;
}

/** The parameters of an Argon2 PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`). */
export interface Argon2Params {
  algorithm: 'argon2id' | 'argon2i' | 'argon2d';
  version: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  saltLen: number;
  outputLen: number;
}

const PHC =
  /^\$(argon2id|argon2i|argon2d)\$(?:v=(\d+)\$)?m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** Parses an Argon2 PHC string; `undefined` if it is not one. */
export function parseArgon2Hash(phc: string): Argon2Params | undefined {
  const m = PHC.exec(phc);
  if (!m) return undefined;
  const b64len = (s: string): number => Math.floor((s.length * 3) / 4);
  return {
    algorithm: m[1] as Argon2Params['algorithm'],
    // A PHC string without `v=` is Argon2 1.0 (0x10 = 16).
    version: m[2] === undefined ? 16 : Number(m[2]),
    memoryCost: Number(m[3]),
    timeCost: Number(m[4]),
    parallelism: Number(m[5]),
    saltLen: b64len(m[6] ?? ''),
    outputLen: b64len(m[7] ?? ''),
  };
}

/** Whether a hash is bcrypt (legacy `$2a$`/`$2b$`/`$2y$` hashes). */
export function isBcryptHash(hash: string): boolean {
  return BCRYPT.test(hash);
}

/** Whether an Argon2 hash falls short of `PASSWORD_PARAMS` in any way. */
export function argon2NeedsRehash(params: Argon2Params): boolean {
  const p = PASSWORD_PARAMS;
  return (
    params.algorithm !== p.algorithm ||
    params.version !== p.version ||
    params.memoryCost < p.memoryCost ||
    params.timeCost < p.timeCost ||
    params.parallelism !== p.parallelism ||
    params.saltLen < p.saltLen ||
    params.outputLen < p.outputLen
  );
}

function checkInput(plain: unknown): string {
  if (typeof plain !== 'string') {
    throw new PasswordInputError('not-a-string', 'password must be a string');
  }
  if (plain.length === 0) throw new PasswordInputError('empty', 'password must not be empty');
  if (plain.length > MAX_PASSWORD_LENGTH) {
    throw new PasswordInputError(
      'too-long',
      `password is longer than ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  return plain;
}

/**
 * Argon2id hash (PHC string) with `PASSWORD_PARAMS`. The password is NFC-normalised first (NIST
 * SP 800-63B), so the same password typed on different systems verifies. Runs on libuv's thread
 * pool via @node-rs/argon2's async API: it never blocks the event loop.
 */
export async function hashPassword(plain: string): Promise<string> {
  const input = checkInput(plain).normalize('NFC');
  return argon2Hash(input, {
    algorithm: ARGON2ID,
    version: ARGON2_VERSION_0X13,
    memoryCost: PASSWORD_PARAMS.memoryCost,
    timeCost: PASSWORD_PARAMS.timeCost,
    parallelism: PASSWORD_PARAMS.parallelism,
    outputLen: PASSWORD_PARAMS.outputLen,
    salt: randomBytes(PASSWORD_PARAMS.saltLen),
  });
}

/**
 * Verifies a password against an Argon2 hash or a legacy bcrypt hash. A correct
 * password on a bcrypt hash, or on an Argon2 hash weaker than `PASSWORD_PARAMS`, comes back with
 * `needsRehash: true`. bcrypt only ever used the first 72 bytes of a password; a legacy hash
 * therefore also accepts any password sharing those 72 bytes, until it is rehashed. Off the main
 * thread, like `hashPassword`.
 */
export async function verifyPassword(plain: string, hash: string): Promise<PasswordVerification> {
  checkInput(plain);
  if (typeof hash === 'string') {
    const argon = parseArgon2Hash(hash);
    if (argon) {
      let valid: boolean;
      try {
        valid = await argon2Verify(hash, plain.normalize('NFC'));
      } catch {
        // e.g. a salt or output too short to be real: corrupt data, not a wrong password.
        throw new PasswordHashFormatError('stored Argon2 hash is malformed');
      }
      return { valid, needsRehash: valid && argon2NeedsRehash(argon) };
    }
    if (isBcryptHash(hash)) {
      // Legacy hashes were made from the raw password: no normalisation here.
      const valid = await bcryptVerify(plain, hash);
      return { valid, needsRehash: valid };
    }
  }
  throw new PasswordHashFormatError(
    'stored password hash is neither Argon2 (PHC) nor bcrypt ($2a$/$2b$/$2y$)',
  );
}
