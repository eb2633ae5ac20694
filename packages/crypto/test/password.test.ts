import { hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { describe, expect, it } from 'vitest';
import {
  hashPassword,
  isBcryptHash,
  MAX_PASSWORD_LENGTH,
  PASSWORD_PARAMS,
  PasswordHashFormatError,
  PasswordInputError,
  parseArgon2Hash,
  verifyPassword,
} from '../src/index.ts';

// OWASP Password Storage Cheat Sheet, Argon2id minimum: m = 19 MiB (19456 KiB), t = 2, p = 1.
const OWASP_MIN = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

describe('hashPassword (Argon2id)', () => {
  it('produces an Argon2id PHC string with at least the OWASP minimum parameters', async () => {
    const phc = await hashPassword('secure_password');
    expect(phc).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    const params = parseArgon2Hash(phc)!;
    expect(params.algorithm).toBe('argon2id');
    expect(params.version).toBe(19);
    expect(params.memoryCost).toBeGreaterThanOrEqual(OWASP_MIN.memoryCost);
    expect(params.timeCost).toBeGreaterThanOrEqual(OWASP_MIN.timeCost);
    expect(params.parallelism).toBe(OWASP_MIN.parallelism);
    expect(params).toEqual({
      algorithm: 'argon2id',
      version: 19,
      memoryCost: PASSWORD_PARAMS.memoryCost,
      timeCost: PASSWORD_PARAMS.timeCost,
      parallelism: PASSWORD_PARAMS.parallelism,
      saltLen: 16,
      outputLen: 32,
    });
  });

  it('salts: the same password hashes differently each time', async () => {
    const [a, b] = await Promise.all([hashPassword('same'), hashPassword('same')]);
    expect(a).not.toBe(b);
  });

  it('verifies the right password, rejects a wrong one, needs no rehash', async () => {
    const phc = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery staple', phc)).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect(await verifyPassword('correct horse battery stapler', phc)).toEqual({
      valid: false,
      needsRehash: false,
    });
  });

  it('normalises to NFC, so composed and decomposed input verify alike', async () => {
    const phc = await hashPassword('Jos\u00e9-pässwörd');
    expect((await verifyPassword('Jose\u0301-pa\u0308sswo\u0308rd', phc)).valid).toBe(true);
  });

  it('flags weaker Argon2 hashes for rehash', async () => {
    const weak = [
      // older, weaker parameters (argon2id, m=4096, t=1)
      await argon2Hash('pw', { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 }),
      // argon2i with our costs
      await argon2Hash('pw', { algorithm: 1, memoryCost: 19456, timeCost: 2, parallelism: 1 }),
      // argon2id, version 0x10 (no v= segment is v16; here written as v=16)
      await argon2Hash('pw', {
        algorithm: 2,
        version: 0,
        memoryCost: 19456,
        timeCost: 2,
        parallelism: 1,
      }),
    ];
    expect(weak[2]).toMatch(/^\$argon2id\$v=16\$/);
    for (const phc of weak) {
      expect(await verifyPassword('pw', phc)).toEqual({ valid: true, needsRehash: true });
      expect(await verifyPassword('wrong', phc)).toEqual({ valid: false, needsRehash: false });
    }
    // Stronger than the minimum: no rehash.
    const strong = await argon2Hash('pw', {
      algorithm: 2,
      memoryCost: 32768,
      timeCost: 3,
      parallelism: 1,
    });
    expect(await verifyPassword('pw', strong)).toEqual({ valid: true, needsRehash: false });
  });

  it('parses PHC strings, including the versionless (Argon2 1.0) form', () => {
    expect(parseArgon2Hash('$argon2i$m=4096,t=3,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo')).toMatchObject({
      algorithm: 'argon2i',
      version: 16,
      memoryCost: 4096,
      timeCost: 3,
      parallelism: 1,
    });
    expect(parseArgon2Hash('$2b$04$abc')).toBeUndefined();
    expect(parseArgon2Hash('')).toBeUndefined();
  });

  it('never blocks the event loop: a timer keeps firing while hashes run', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 1);
    const started = performance.now();
    try {
      await Promise.all([hashPassword('one'), hashPassword('two'), hashPassword('three')]);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    // Loose on purpose (a busy CI machine): the timer must have fired repeatedly while hashing.
    expect(elapsed).toBeGreaterThan(10);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });
});

describe('legacy bcrypt (seed 002)', () => {
  it('verifies a fixed published $2b$ hash and flags it for upgrade', async () => {
    // pyca/bcrypt test vector (tests/test_bcrypt.py): password "Kk4DQuMMfZL9o", cost 4.
    const known = '$2b$04$cVWp4XaNU8a4v1uMRum2SO026BWLIoQMD/TXg5uZV.0P.uO8m3YEm';
    expect(isBcryptHash(known)).toBe(true);
    expect(await verifyPassword('Kk4DQuMMfZL9o', known)).toEqual({
      valid: true,
      needsRehash: true,
    });
    expect(await verifyPassword('Kk4DQuMMfZL9O', known)).toEqual({
      valid: false,
      needsRehash: false,
    });
  });

  it('verifies a fixed published $2a$ hash', async () => {
    // jBCrypt / OpenBSD test vector: password "abc", cost 10.
    const known = '$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi';
    expect(await verifyPassword('abc', known)).toEqual({ valid: true, needsRehash: true });
  });

  it('verifies hashes generated now by the bcrypt library, under $2a$, $2b$ and $2y$', async () => {
    const generated = await bcryptHash('secure_password', 4); // @node-rs/bcrypt writes $2y$
    expect(generated).toMatch(/^\$2y\$04\$/);
    // $2a$, $2b$ and $2y$ compute the same hash for such passwords; passlib (seed 002) wrote $2b$.
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const phc = prefix + generated.slice(4);
      expect(await verifyPassword('secure_password', phc)).toEqual({
        valid: true,
        needsRehash: true,
      });
      expect((await verifyPassword('secure_passwore', phc)).valid).toBe(false);
    }
  });

  it('upgrade path: verify bcrypt, rehash with Argon2id, verify again without rehash', async () => {
    const legacy = await bcryptHash('upgrade-me', 4);
    const first = await verifyPassword('upgrade-me', legacy);
    expect(first).toEqual({ valid: true, needsRehash: true });
    const upgraded = await hashPassword('upgrade-me');
    expect(await verifyPassword('upgrade-me', upgraded)).toEqual({
      valid: true,
      needsRehash: false,
    });
  });

  it('bcrypt only uses the first 72 bytes of a password (documented limit)', async () => {
    const base = 'a'.repeat(72);
    const legacy = await bcryptHash(`${base}-tail-one`, 4);
    expect((await verifyPassword(`${base}-tail-two`, legacy)).valid).toBe(true);
    // Argon2id has no such limit.
    const modern = await hashPassword(`${base}-tail-one`);
    expect((await verifyPassword(`${base}-tail-two`, modern)).valid).toBe(false);
  });
});

describe('password input checks', () => {
  it('rejects empty, too long and non-string passwords with a typed error', async () => {
    const phc = await hashPassword('x');
    for (const [input, reason] of [
      ['', 'empty'],
      ['a'.repeat(MAX_PASSWORD_LENGTH + 1), 'too-long'],
      [undefined, 'not-a-string'],
    ] as const) {
      await expect(hashPassword(input as string)).rejects.toMatchObject({
        name: 'PasswordInputError',
        reason,
      });
      await expect(verifyPassword(input as string, phc)).rejects.toBeInstanceOf(PasswordInputError);
    }
    expect(await hashPassword('a'.repeat(MAX_PASSWORD_LENGTH))).toMatch(/^\$argon2id\$/);
  });

  it('rejects an unknown stored hash format without echoing it', async () => {
    for (const stored of [
      'plain-text-password',
      '$1$md5$hash',
      '',
      '$2b$04$short',
      '$argon2id$v=19$m=19456,t=2,p=1$abc$def', // parses, but salt and hash are too short
    ]) {
      const attempt = verifyPassword('pw', stored);
      await expect(attempt).rejects.toBeInstanceOf(PasswordHashFormatError);
      const error = await attempt.catch((e: Error) => e);
      if (stored !== '') expect((error as Error).message).not.toContain(stored);
    }
  });
});
