import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BlindIndex,
  CryptoConfigError,
  constantTimeEqual,
  mask,
  normalizeForIndex,
} from '../src/index.ts';

describe('BlindIndex', () => {
  const key = randomBytes(32);
  const index = new BlindIndex(key);
  const apiKey = 'sk-WW8Gq3bLx0Zc4mNvP7rTt2yHs9KdJ1fAT9g';

  it('is HMAC-SHA256 under its own key over the length-prefixed context and normalised value', () => {
    const expected = createHmac('sha256', key)
      .update(Buffer.from([0, 0, 0, 0]))
      .update(apiKey)
      .digest('hex');
    expect(index.hash(apiKey)).toBe(expected);
    // Not a bare hash: SHA-256 of the value differs, and so does another key's HMAC.
    expect(index.hash(apiKey)).not.toBe(createHash('sha256').update(apiKey).digest('hex'));
    expect(new BlindIndex(randomBytes(32)).hash(apiKey)).not.toBe(index.hash(apiKey));
  });

  it('is deterministic, so a row can be found by its plaintext', () => {
    const stored = index.hash(apiKey);
    expect(index.hash(`  ${apiKey}\n`)).toBe(stored); // trimmed
    expect(index.matches(apiKey, stored)).toBe(true);
    expect(index.matches(`${apiKey}x`, stored)).toBe(false);
    expect(index.hash(apiKey, { encoding: 'base64url' })).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('normalises: trim + NFC by default, lower-case for e-mails, none on request', () => {
    const composed = 'Jos\u00e9@Example.com';
    const decomposed = 'Jose\u0301@Example.com';
    expect(index.hash(composed)).toBe(index.hash(decomposed));
    expect(index.hash(composed)).not.toBe(index.hash(composed.toLowerCase()));
    expect(index.hash(composed, { normalize: 'lowercase' })).toBe(
      index.hash(' jose\u0301@example.COM ', { normalize: 'lowercase' }),
    );
    expect(index.hash(' a', { normalize: 'none' })).not.toBe(
      index.hash('a', { normalize: 'none' }),
    );
    expect(normalizeForIndex(' Aa\u0301 ', 'lowercase')).toBe('a\u00e1');
  });

  it('separates contexts (columns) from each other without ambiguity', () => {
    const a = index.hash('x', { context: 'api_keys.key_hash' });
    expect(a).not.toBe(index.hash('x', { context: 'users.email_hash' }));
    expect(a).not.toBe(index.hash('x'));
    // Length prefix: context "ab" + value "c" differs from context "a" + value "bc".
    expect(index.hash('c', { context: 'ab' })).not.toBe(index.hash('bc', { context: 'a' }));
  });

  it('reads EXORA_BLIND_INDEX_KEY and reports problems with it', () => {
    const fromEnv = BlindIndex.fromEnv({ EXORA_BLIND_INDEX_KEY: key.toString('base64') });
    expect(fromEnv.hash(apiKey)).toBe(index.hash(apiKey));
    expect(() => BlindIndex.fromEnv({})).toThrow(/EXORA_BLIND_INDEX_KEY is not set/);
    expect(() => BlindIndex.fromEnv({ EXORA_BLIND_INDEX_KEY: 'AAAA' })).toThrow(
      /decodes to 3 bytes; it must be 32/,
    );
    expect(() => BlindIndex.fromEnv({ EXORA_BLIND_INDEX_KEY: '%%%' })).toThrow(CryptoConfigError);
    expect(() => new BlindIndex(randomBytes(16))).toThrow(CryptoConfigError);
  });
});

describe('constantTimeEqual', () => {
  it('compares strings and bytes, including different lengths', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('', 'a')).toBe(false);
    expect(constantTimeEqual(Buffer.from([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(constantTimeEqual('é', Buffer.from('é', 'utf8'))).toBe(true);
  });
});

describe('mask', () => {
  it('shows 4 + 3 characters of a long key, like seed 003 (WW8G...T9g)', () => {
    expect(mask('WW8Gq3bLx0Zc4mNvP7rTt2yHs9KdJ1fAT9g')).toBe('WW8G...T9g');
    expect(mask('x'.repeat(28))).toBe('xxxx...xxx');
  });

  it('shows less of shorter secrets and never more than a quarter', () => {
    expect(mask('abcdefghijklmnopqrstuvwxyz0')).toBe('abc...yz0'); // 27 -> 6 shown
    expect(mask('abcdefghijkl')).toBe('ab...l'); // 12 -> 3 shown
    expect(mask('abcdefgh')).toBe('a...h'); // 8 -> 2 shown
    expect(mask('abcd')).toBe('a...'); // 4 -> 1 shown
    expect(mask('abc')).toBe('****');
    expect(mask('a')).toBe('****');
    expect(mask('')).toBe('');
    for (let n = 1; n <= 200; n++) {
      const secret = Array.from({ length: n }, (_, i) => String.fromCharCode(0x4e00 + i)).join('');
      const shown = Array.from(mask(secret).replace('...', '').replace('****', '')).length;
      expect(shown).toBeLessThanOrEqual(Math.floor(n / 4));
      expect(shown).toBeLessThanOrEqual(7);
    }
  });

  it('never splits a surrogate pair', () => {
    expect(mask('🔑🔑🔑🔑🔑🔑🔑🔑')).toBe('🔑...🔑');
  });
});
