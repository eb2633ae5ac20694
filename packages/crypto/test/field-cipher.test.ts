import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CryptoUsageError,
  DecryptionError,
  FieldCipher,
  type FieldContext,
  isEncrypted,
  Keyring,
  keyIdOf,
  UnknownKeyError,
} from '../src/index.ts';
import { createTestCrypto } from '../src/testing.ts';

const ctx: FieldContext = {
  table: 'oauth_tokens',
  column: 'access_token',
  rowId: '0191d3f0-7c1a-7b2e-9f00-5a1e2c3d4e5f',
};

/** Expects `fn` to throw a `DecryptionError` (or subclass) and returns it. */
function decryptionFailure(fn: () => unknown): DecryptionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptionError);
    return error as DecryptionError;
  }
  throw new Error('expected a DecryptionError, but decryption succeeded');
}

function payloadOf(value: string): Buffer {
  return Buffer.from(value.slice(value.lastIndexOf('.') + 1), 'base64url');
}

function withPayload(value: string, payload: Buffer): string {
  return value.slice(0, value.lastIndexOf('.') + 1) + payload.toString('base64url');
}

describe('AES-256-GCM primitive: published known-answer vectors', () => {
  // McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", revised 2005, Appendix B,
  // Test Case 16 (256-bit key, 96-bit IV, 60-byte plaintext, 20-byte AAD). The same vector is in
  // NIST's GCM validation material. Values typed from the published document.
  const tc16 = {
    key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
    iv: 'cafebabefacedbaddecaf888',
    plaintext:
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
      '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    ciphertext:
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  };
  // Same document, Test Case 14: 256-bit zero key, zero IV, one zero block, no AAD.
  const tc14 = {
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    plaintext: '00'.repeat(16),
    aad: '',
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  };

  for (const [name, v] of [
    ['Test Case 16', tc16],
    ['Test Case 14', tc14],
  ] as const) {
    it(`${name}: encrypts to the published ciphertext and tag, and decrypts back`, () => {
      const h = (s: string) => Buffer.from(s, 'hex');
      const enc = createCipheriv('aes-256-gcm', h(v.key), h(v.iv), { authTagLength: 16 });
      enc.setAAD(h(v.aad));
      const ct = Buffer.concat([enc.update(h(v.plaintext)), enc.final()]);
      expect(ct.toString('hex')).toBe(v.ciphertext);
      expect(enc.getAuthTag().toString('hex')).toBe(v.tag);

      const dec = createDecipheriv('aes-256-gcm', h(v.key), h(v.iv), { authTagLength: 16 });
      dec.setAAD(h(v.aad));
      dec.setAuthTag(h(v.tag));
      expect(Buffer.concat([dec.update(ct), dec.final()]).toString('hex')).toBe(v.plaintext);
    });
  }

  it('the package decrypts an envelope built by hand from the documented format and AAD layout', () => {
    const key = Buffer.from(tc16.key, 'hex');
    const nonce = Buffer.from(tc16.iv, 'hex');
    const plaintext = 'ya29.known-answer-token';
    // README "AAD layout": u32be length + UTF-8 bytes of version, key id, table, column, row id.
    const field = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    const aad = Buffer.concat(['ex1', 'k1', ctx.table, ctx.column, ctx.rowId].map(field));
    const enc = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
    enc.setAAD(aad);
    const ct = Buffer.concat([enc.update(plaintext, 'utf8'), enc.final()]);
    const value = `ex1.k1.${Buffer.concat([nonce, ct, enc.getAuthTag()]).toString('base64url')}`;

    const cipher = new FieldCipher(new Keyring({ keys: [{ id: 'k1', key }], activeKeyId: 'k1' }));
    expect(cipher.decrypt(value, ctx)).toBe(plaintext);
  });
});

describe('format version 1 regression vector (also the README example)', () => {
  // Written once by this package with the demo key 00 01 02 ... 1f (never use it for real data).
  // Every later version must still decrypt it: stored values outlive code.
  const demoKey = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const stored = 'ex1.k1.oZNEELZAb-hKgAIbajONYETp2M3Nxv3GzlsJV_q_qlmTmOQPlRj-3XgcrrcXx_b1xnvd26Q';

  it('decrypts under k1 with the documented context', () => {
    const cipher = FieldCipher.fromEnv({
      EXORA_ENCRYPTION_KEYS: `k1:${demoKey.toString('base64')}`,
    });
    expect(demoKey.toString('base64')).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
    expect(cipher.decrypt(stored, ctx)).toBe('ya29.example-access-token');
    expect(keyIdOf(stored)).toBe('k1');
    decryptionFailure(() => cipher.decrypt(stored, { ...ctx, column: 'refresh_token' }));
  });
});

describe('FieldCipher round trips', () => {
  const { cipher } = createTestCrypto();

  it('round-trips the empty string', () => {
    const value = cipher.encrypt('', ctx);
    expect(cipher.decrypt(value, ctx)).toBe('');
    expect(payloadOf(value)).toHaveLength(12 + 16);
  });

  it('round-trips unicode (multi-byte, astral, combining, NUL)', () => {
    const text = 'tokén ✓ 𝄞 日本語 🔑 e\u0301 \u0000 end';
    expect(cipher.decrypt(cipher.encrypt(text, ctx), ctx)).toBe(text);
  });

  it('round-trips 1 MiB, as a string and as bytes', () => {
    const bytes = randomBytes(1024 * 1024);
    const asBytes = cipher.encrypt(bytes, ctx);
    expect(cipher.decryptBuffer(asBytes, ctx).equals(bytes)).toBe(true);
    const text = 'x'.repeat(1024 * 1024);
    expect(cipher.decrypt(cipher.encrypt(text, ctx), ctx)).toBe(text);
  });

  it('has the format ex1.<keyId>.<base64url(nonce | ciphertext | tag)>', () => {
    const value = cipher.encrypt('abc', ctx);
    expect(value).toMatch(/^ex1\.k1\.[A-Za-z0-9_-]+$/);
    expect(payloadOf(value)).toHaveLength(12 + 3 + 16);
    expect(keyIdOf(value)).toBe('k1');
    expect(isEncrypted(value)).toBe(true);
    expect(isEncrypted('abc')).toBe(false);
    expect(isEncrypted(null)).toBe(false);
  });

  it('uses a fresh nonce for every value (10 000 encryptions of the same plaintext)', () => {
    const nonces = new Set<string>();
    const values = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const value = cipher.encrypt('same', ctx);
      values.add(value);
      nonces.add(payloadOf(value).subarray(0, 12).toString('hex'));
    }
    expect(nonces.size).toBe(10_000);
    expect(values.size).toBe(10_000);
  });

  it('counts encryptions per key', () => {
    const own = createTestCrypto({ ids: ['a', 'b'] }).cipher;
    own.encrypt('x', ctx);
    own.encrypt('y', ctx);
    expect(own.encryptionCounts()).toEqual({ a: 0, b: 2 });
  });

  it('refuses strings that cannot round-trip through UTF-8', () => {
    expect(() => cipher.encrypt('broken \ud800 surrogate', ctx)).toThrow(CryptoUsageError);
  });

  it('refuses to decrypt without a complete context', () => {
    const value = cipher.encrypt('x', ctx);
    expect(() => cipher.decrypt(value, undefined as unknown as FieldContext)).toThrow(
      CryptoUsageError,
    );
    expect(() => cipher.decrypt(value, { ...ctx, rowId: '' })).toThrow(CryptoUsageError);
    const malformed = decryptionFailure(() =>
      cipher.decrypt('garbage', undefined as unknown as FieldContext),
    );
    expect(malformed.message).toBe(
      'could not decrypt value: the value is not a well-formed encrypted value',
    );
  });

  it('refuses an incomplete context (no unbound ciphertexts)', () => {
    for (const bad of [
      { ...ctx, rowId: '' },
      { ...ctx, table: '' },
      { ...ctx, column: '' },
      { ...ctx, rowId: 42 as unknown as string },
    ]) {
      expect(() => cipher.encrypt('x', bad)).toThrow(CryptoUsageError);
    }
  });
});

describe('FieldCipher rejects tampering', () => {
  const { cipher } = createTestCrypto({ ids: ['k1', 'k2'] });
  const value = cipher.encrypt('refresh-token-é', ctx);
  const payload = payloadOf(value);
  const ctLength = payload.length - 28;

  it('rejects every single-bit flip of nonce, ciphertext and tag', () => {
    let flips = 0;
    const regions = { nonce: 0, ciphertext: 0, tag: 0 };
    for (let byte = 0; byte < payload.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(payload);
        flipped[byte]! ^= 1 << bit;
        const error = decryptionFailure(() => cipher.decrypt(withPayload(value, flipped), ctx));
        expect(error.reason).toBe('authentication-failed');
        flips++;
        if (byte < 12) regions.nonce++;
        else if (byte < 12 + ctLength) regions.ciphertext++;
        else regions.tag++;
      }
    }
    expect(flips).toBe(payload.length * 8);
    expect(regions).toEqual({ nonce: 96, ciphertext: ctLength * 8, tag: 128 });
  });

  it('rejects every single-bit flip of every character of the text, header included', () => {
    let flips = 0;
    for (let i = 0; i < value.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const changed =
          value.slice(0, i) +
          String.fromCharCode(value.charCodeAt(i) ^ (1 << bit)) +
          value.slice(i + 1);
        decryptionFailure(() => cipher.decrypt(changed, ctx));
        flips++;
      }
    }
    expect(flips).toBe(value.length * 8);
  });

  it('rejects a header relabelled to another key the keyring holds', () => {
    const underK1 = new FieldCipher(cipher.keyring);
    const relabelled = value.replace(/^ex1\.k2\./, 'ex1.k1.');
    expect(relabelled).not.toBe(value);
    expect(decryptionFailure(() => underK1.decrypt(relabelled, ctx)).reason).toBe(
      'authentication-failed',
    );
  });

  it('rejects every truncation', () => {
    for (let n = 0; n < value.length; n++) {
      decryptionFailure(() => cipher.decrypt(value.slice(0, n), ctx));
    }
  });

  it('rejects garbage and non-canonical input', () => {
    const garbage = [
      '',
      'plaintext-token',
      'ex1',
      'ex1.',
      'ex1.k2',
      'ex1.k2.',
      'ex1..AAAA',
      `ex1.k2.${payload.toString('base64')}=`,
      `${value}=`,
      `${value}.`,
      `${value}A`,
      ` ${value}`,
      `${value}\n`,
      `${value.slice(0, -1)}+`,
      `${value.slice(0, -1)}/`,
      `ex1.${'k'.repeat(33)}.${payload.toString('base64url')}`,
      `ex1.k 2.${payload.toString('base64url')}`,
      `ex2.k2.${payload.toString('base64url')}`,
      `EX1.k2.${payload.toString('base64url')}`,
      `ex1.k2.${randomBytes(27).toString('base64url')}`,
      `ex1.k2.${randomBytes(64).toString('base64url')}`,
      '{"iv":"00","data":"00"}',
    ];
    for (const g of garbage) decryptionFailure(() => cipher.decrypt(g, ctx));
    decryptionFailure(() => cipher.decrypt(undefined as unknown as string, ctx));
    expect(decryptionFailure(() => cipher.decrypt(`ex2.k2.${'A'.repeat(40)}`, ctx)).reason).toBe(
      'unsupported-version',
    );
  });

  it('rejects a value moved to another row, column or table', () => {
    for (const other of [
      { ...ctx, rowId: '0191d3f0-7c1a-7b2e-9f00-5a1e2c3d4e60' },
      { ...ctx, column: 'refresh_token' },
      { ...ctx, table: 'credentials' },
    ]) {
      const error = decryptionFailure(() => cipher.decrypt(value, other));
      expect(error.reason).toBe('authentication-failed');
      expect(error.message).toContain(`${other.table}.${other.column}`);
    }
  });

  it('length-prefixes the AAD: table "a.b" + column "c" is not table "a" + column "b.c"', () => {
    const first = cipher.encrypt('x', { table: 'a.b', column: 'c', rowId: '1' });
    decryptionFailure(() => cipher.decrypt(first, { table: 'a', column: 'b.c', rowId: '1' }));
    const second = cipher.encrypt('x', { table: 'ab', column: 'c1', rowId: '1' });
    decryptionFailure(() => cipher.decrypt(second, { table: 'a', column: 'bc1', rowId: '1' }));
    decryptionFailure(() => cipher.decrypt(second, { table: 'ab', column: 'c', rowId: '11' }));
    expect(cipher.decrypt(first, { table: 'a.b', column: 'c', rowId: '1' })).toBe('x');
  });

  it('rejects a value from another keyring using the same key id', () => {
    const stranger = createTestCrypto({ ids: ['k1', 'k2'] }).cipher;
    expect(decryptionFailure(() => stranger.decrypt(value, ctx)).reason).toBe(
      'authentication-failed',
    );
  });
});

describe('keys and rotation of single values', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const before = new FieldCipher(new Keyring({ keys: [{ id: 'k1', key: k1 }], activeKeyId: 'k1' }));
  const after = new FieldCipher(
    new Keyring({
      keys: [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      activeKeyId: 'k2',
    }),
  );

  it('an unknown key id is an UnknownKeyError naming the id', () => {
    const value = after.encrypt('secret-value', ctx);
    const error = decryptionFailure(() => before.decrypt(value, ctx));
    expect(error).toBeInstanceOf(UnknownKeyError);
    expect((error as UnknownKeyError).keyId).toBe('k2');
    expect(error.message).toContain('"k2"');
    expect(error.message).toContain('oauth_tokens.access_token');
    expect(error.message).not.toContain(value);
  });

  it('decrypts with any key held, encrypts with the active one; needsRotation and reencrypt', () => {
    const old = before.encrypt('token-1', ctx);
    expect(after.decrypt(old, ctx)).toBe('token-1');
    expect(after.needsRotation(old)).toBe(true);
    const rotated = after.reencrypt(old, ctx);
    expect(keyIdOf(rotated)).toBe('k2');
    expect(after.needsRotation(rotated)).toBe(false);
    expect(after.decrypt(rotated, ctx)).toBe('token-1');
    expect(after.reencrypt(rotated, ctx)).toBe(rotated);
    expect(() => keyIdOf('not encrypted')).toThrow(DecryptionError);
  });

  it('decryptUnframed opens a bare legacy iv/ciphertext/tag under the legacy key', () => {
    const legacyKey = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
    const cipher = FieldCipher.fromEnv({
      EXORA_ENCRYPTION_KEYS: `k1:${k1.toString('base64')}`,
      OAUTH_ENCRYPTION_KEY: legacyKey.toString('utf8'),
    });
    const iv = randomBytes(16); // seed-era code often used 16-byte IVs with GCM
    const enc = createCipheriv('aes-256-gcm', legacyKey, iv);
    const ct = Buffer.concat([enc.update('legacy-oauth-token', 'utf8'), enc.final()]);
    const tag = enc.getAuthTag();
    expect(cipher.decryptUnframed({ iv, ciphertext: ct, tag }).toString('utf8')).toBe(
      'legacy-oauth-token',
    );
    const badTag = Buffer.from(tag);
    badTag[0]! ^= 1;
    decryptionFailure(() => cipher.decryptUnframed({ iv, ciphertext: ct, tag: badTag }));
    expect(() => cipher.decryptUnframed({ iv, ciphertext: ct, tag }, 'nope')).toThrow(
      UnknownKeyError,
    );
  });
});
