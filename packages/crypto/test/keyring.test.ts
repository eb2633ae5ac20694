import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CryptoConfigError,
  FieldCipher,
  Keyring,
  LEGACY_KEY_ID,
  loadCryptoFromEnv,
} from '../src/index.ts';

const b64 = () => randomBytes(32).toString('base64');
const LEGACY = 'abcdefghijklmnopqrstuvwxyz012345'; // 32 characters, as seed 000 asks

function configProblems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoConfigError);
    return (error as CryptoConfigError).problems;
  }
  throw new Error('expected a CryptoConfigError');
}

describe('Keyring.fromEnv', () => {
  it('reads a versioned list; the last entry is active', () => {
    const ring = Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${b64()}, k2:${b64()}` });
    expect(ring.keyIds).toEqual(['k1', 'k2']);
    expect(ring.activeKeyId).toBe('k2');
    expect(ring.has('k1')).toBe(true);
    expect(ring.has('k3')).toBe(false);
  });

  it('accepts URL-safe base64 and unpadded base64', () => {
    const key = randomBytes(32);
    const ring = Keyring.fromEnv({
      EXORA_ENCRYPTION_KEYS: `a:${key.toString('base64url')},b:${randomBytes(32).toString('base64').replace(/=+$/, '')}`,
    });
    expect(ring.keyIds).toEqual(['a', 'b']);
  });

  it('EXORA_ENCRYPTION_ACTIVE_KEY picks another listed key (two-phase rollout)', () => {
    const ring = Keyring.fromEnv({
      EXORA_ENCRYPTION_KEYS: `k1:${b64()},k2:${b64()}`,
      EXORA_ENCRYPTION_ACTIVE_KEY: 'k1',
    });
    expect(ring.activeKeyId).toBe('k1');
    const problems = configProblems(() =>
      Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${b64()}`, EXORA_ENCRYPTION_ACTIVE_KEY: 'k9' }),
    );
    expect(problems[0]).toContain('EXORA_ENCRYPTION_ACTIVE_KEY');
    expect(problems[0]).toContain('k9');
  });

  it('accepts OAUTH_ENCRYPTION_KEY as a decrypt-only legacy key beside the list', () => {
    const ring = Keyring.fromEnv({
      EXORA_ENCRYPTION_KEYS: `k1:${b64()}`,
      OAUTH_ENCRYPTION_KEY: LEGACY,
    });
    expect(ring.keyIds).toEqual(['k1', LEGACY_KEY_ID]);
    expect(ring.activeKeyId).toBe('k1');
  });

  it('uses the legacy key as the active key when it is the only one', () => {
    const legacyOnly = FieldCipher.fromEnv({ OAUTH_ENCRYPTION_KEY: LEGACY });
    expect(legacyOnly.activeKeyId).toBe('legacy');
    const ctx = { table: 'oauth_tokens', column: 'access_token', rowId: '1' };
    const value = legacyOnly.encrypt('tok', ctx);
    expect(value.startsWith('ex1.legacy.')).toBe(true);
    // After adding a real key, legacy values still decrypt and need rotation.
    const later = FieldCipher.fromEnv({
      EXORA_ENCRYPTION_KEYS: `k1:${b64()}`,
      OAUTH_ENCRYPTION_KEY: LEGACY,
    });
    expect(later.decrypt(value, ctx)).toBe('tok');
    expect(later.needsRotation(value)).toBe(true);
  });

  it('reports a missing configuration with what to set', () => {
    const problems = configProblems(() => Keyring.fromEnv({}));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('EXORA_ENCRYPTION_KEYS');
    expect(problems[0]).toContain('randomBytes(32)');
    expect(configProblems(() => Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: '  ' }))).toHaveLength(1);
  });

  it('reports every problem at once, each naming the variable and the fix', () => {
    const short = randomBytes(16).toString('base64');
    const problems = configProblems(() =>
      Keyring.fromEnv({
        EXORA_ENCRYPTION_KEYS: `k1:${short},k1:${b64()},,k2:not*base64!,legacy:${b64()},bad id:${b64()},nocolon`,
        OAUTH_ENCRYPTION_KEY: 'too-short',
      }),
    );
    expect(problems).toHaveLength(8);
    expect(problems[0]).toMatch(
      /EXORA_ENCRYPTION_KEYS key "k1" decodes to 16 bytes; it must be 32/,
    );
    expect(problems[1]).toMatch(/"k1" more than once/);
    expect(problems[2]).toMatch(/entry #3 is empty/);
    expect(problems[3]).toMatch(/key "k2" is not valid base64/);
    expect(problems[4]).toMatch(/reserved id "legacy"/);
    expect(problems[5]).toMatch(/entry #6 has an invalid key id/);
    expect(problems[6]).toMatch(/entry #7 has no ":"/);
    expect(problems[7]).toMatch(/OAUTH_ENCRYPTION_KEY must be exactly 32 ASCII characters/);
    const legacy = configProblems(() =>
      Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${b64()}`, OAUTH_ENCRYPTION_KEY: 'too-short' }),
    );
    expect(legacy[0]).toMatch(/OAUTH_ENCRYPTION_KEY must be exactly 32 ASCII characters/);
    // 32 characters but not 32 bytes
    expect(
      configProblems(() => Keyring.fromEnv({ OAUTH_ENCRYPTION_KEY: 'é'.repeat(32) }))[0],
    ).toMatch(/32 characters, 64 bytes/);
  });

  it('rejects non-canonical base64 (a typo must not silently change the key)', () => {
    const key = randomBytes(32).toString('base64');
    for (const bad of [
      `${key.slice(0, 20)} ${key.slice(20)}`,
      `${key}==`,
      `${key.slice(0, -2)}B=`,
    ]) {
      expect(
        configProblems(() => Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${bad}` }))[0],
      ).toMatch(/not valid base64/);
    }
  });

  it('rejects the same key bytes under two ids', () => {
    const key = b64();
    const problems = configProblems(() =>
      Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${key},k2:${key}` }),
    );
    expect(problems[0]).toMatch(/"k1" and "k2" are the same bytes/);
  });
});

describe('new Keyring', () => {
  it('validates ids, lengths, duplicates and the active id', () => {
    const key = randomBytes(32);
    expect(
      configProblems(() => new Keyring({ keys: [{ id: 'k.1', key }], activeKeyId: 'k.1' }))[0],
    ).toMatch(/invalid id/);
    expect(
      configProblems(
        () => new Keyring({ keys: [{ id: 'k1', key: randomBytes(31) }], activeKeyId: 'k1' }),
      )[0],
    ).toMatch(/"k1" is 31 bytes/);
    expect(
      configProblems(
        () =>
          new Keyring({
            keys: [
              { id: 'k1', key },
              { id: 'k1', key: randomBytes(32) },
            ],
            activeKeyId: 'k1',
          }),
      )[0],
    ).toMatch(/more than once/);
    expect(
      configProblems(() => new Keyring({ keys: [{ id: 'k1', key }], activeKeyId: 'k2' }))[0],
    ).toMatch(/active key id "k2" is not one of the keys \(k1\)/);
    expect(configProblems(() => new Keyring({ keys: [], activeKeyId: 'k1' }))[0]).toMatch(
      /no keys/,
    );
  });

  it('does not keep the caller buffer: zeroing it afterwards changes nothing', () => {
    const key = randomBytes(32);
    const cipher = new FieldCipher(new Keyring({ keys: [{ id: 'k1', key }], activeKeyId: 'k1' }));
    const ctx = { table: 't', column: 'c', rowId: 'r' };
    const value = cipher.encrypt('v', ctx);
    key.fill(0);
    expect(cipher.decrypt(value, ctx)).toBe('v');
  });
});

describe('loadCryptoFromEnv', () => {
  it('builds keyring, cipher and blind index', () => {
    const env = { EXORA_ENCRYPTION_KEYS: `k1:${b64()}`, EXORA_BLIND_INDEX_KEY: b64() };
    const { keyring, cipher, blindIndex } = loadCryptoFromEnv(env);
    expect(keyring.activeKeyId).toBe('k1');
    expect(cipher.activeKeyId).toBe('k1');
    expect(blindIndex.hash('x')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports problems of both variables together', () => {
    const problems = configProblems(() => loadCryptoFromEnv({}));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain('EXORA_ENCRYPTION_KEYS');
    expect(problems[1]).toContain('EXORA_BLIND_INDEX_KEY');
  });

  it('refuses a blind-index key equal to an encryption key', () => {
    const key = b64();
    const problems = configProblems(() =>
      loadCryptoFromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${key}`, EXORA_BLIND_INDEX_KEY: key }),
    );
    expect(problems[0]).toMatch(/EXORA_BLIND_INDEX_KEY is the same as encryption key "k1"/);
  });
});
