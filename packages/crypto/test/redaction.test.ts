import { randomBytes } from 'node:crypto';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  BlindIndex,
  FieldCipher,
  hashPassword,
  Keyring,
  keyIdOf,
  loadCryptoFromEnv,
  verifyPassword,
} from '../src/index.ts';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const indexKey = randomBytes(32);
const LEGACY = 'Legacy-OAuth-Key-32-characters!!';
const PLAINTEXT = 'ya29.super-secret-oauth-access-token';
const PASSWORD = 'hunter2-correct-horse';

/** Every way the key material could show up in text. */
const secrets = [k1, k2, indexKey].flatMap((k) => [
  k.toString('base64'),
  k.toString('base64url'),
  k.toString('hex'),
  k.toString('base64').slice(0, 16),
  k.toString('hex').slice(0, 16),
]);
secrets.push(LEGACY, Buffer.from(LEGACY).toString('hex'), PLAINTEXT, PASSWORD);

function expectClean(text: string): void {
  for (const s of secrets) expect(text).not.toContain(s);
}

/** All the ways an object is commonly turned into text. */
function renderings(value: unknown): string[] {
  return [
    inspect(value),
    inspect(value, { showHidden: true, depth: Number.POSITIVE_INFINITY, getters: true }),
    inspect({ nested: { deeper: [value] } }, { depth: Number.POSITIVE_INFINITY }),
    format('%o %O %s %j', value, value, value, value),
    JSON.stringify(value),
    JSON.stringify({ value }),
    String(value),
    `${value}`,
    Object.keys(value as object).join(','),
    JSON.stringify(Object.getOwnPropertyNames(value)),
  ];
}

const env = {
  EXORA_ENCRYPTION_KEYS: `k1:${k1.toString('base64')},k2:${k2.toString('base64url')}`,
  OAUTH_ENCRYPTION_KEY: LEGACY,
  EXORA_BLIND_INDEX_KEY: indexKey.toString('base64'),
};
const { keyring, cipher, blindIndex } = loadCryptoFromEnv(env);
const ctx = { table: 'oauth_tokens', column: 'access_token', rowId: 'row-1' };

describe('secrets never print', () => {
  it('Keyring, FieldCipher and BlindIndex show ids only', () => {
    for (const obj of [
      keyring,
      cipher,
      blindIndex,
      Keyring.fromEnv(env),
      BlindIndex.fromEnv(env),
    ]) {
      for (const text of renderings(obj)) expectClean(text);
    }
    expect(String(keyring)).toBe('Keyring(active=k2, keys=[k1,k2,legacy])');
    expect(inspect(cipher)).toBe('FieldCipher(active=k2, keys=[k1,k2,legacy])');
    expect(JSON.stringify(blindIndex)).toBe('{"type":"BlindIndex"}');
    expect(JSON.parse(JSON.stringify(keyring))).toEqual({
      type: 'Keyring',
      activeKeyId: 'k2',
      keyIds: ['k1', 'k2', 'legacy'],
    });
  });

  it('no error path shows plaintext, key material or the ciphertext', async () => {
    const value = cipher.encrypt(PLAINTEXT, ctx);
    const otherKeyring = new FieldCipher(
      new Keyring({ keys: [{ id: 'k9', key: randomBytes(32) }], activeKeyId: 'k9' }),
    );
    const tampered = `${value.slice(0, -2)}${value.endsWith('AA') ? 'BA' : 'AA'}`;
    const errors: unknown[] = [];
    const capture = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        errors.push(error);
        return;
      }
      throw new Error('expected an error');
    };
    const captureAsync = async (fn: () => Promise<unknown>) => {
      await fn().then(
        () => {
          throw new Error('expected an error');
        },
        (error: unknown) => errors.push(error),
      );
    };

    capture(() => cipher.decrypt(value, { ...ctx, rowId: 'row-2' })); // wrong AAD
    capture(() => cipher.decrypt(tampered, ctx)); // tampered
    capture(() => cipher.decrypt(value.slice(0, 30), ctx)); // truncated
    capture(() => cipher.decrypt(PLAINTEXT, ctx)); // a plaintext where a ciphertext belongs
    capture(() => cipher.decrypt(`ex1.k1.${PLAINTEXT}`, ctx));
    capture(() => otherKeyring.decrypt(value, ctx)); // unknown key id
    capture(() => keyIdOf(PLAINTEXT));
    capture(() => cipher.encrypt(`${PLAINTEXT}\ud800`, ctx));
    capture(() => cipher.encrypt(PLAINTEXT, { ...ctx, rowId: '' }));
    capture(() =>
      cipher.decryptUnframed({ iv: k1.subarray(0, 12), ciphertext: k2, tag: k1.subarray(0, 16) }),
    );
    // Configuration errors with real-looking (wrong) key material in every variable.
    capture(() =>
      Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${k1.toString('base64').slice(0, 40)}` }),
    );
    capture(() => Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `k1:${k1.toString('hex')}` }));
    capture(() => Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: k1.toString('base64') })); // id missing
    capture(() => Keyring.fromEnv({ EXORA_ENCRYPTION_KEYS: `${k1.toString('base64')}:k1` })); // swapped
    capture(() =>
      Keyring.fromEnv({
        EXORA_ENCRYPTION_KEYS: `k1:${k1.toString('base64')},k2:${k1.toString('base64')}`,
      }),
    );
    capture(() => Keyring.fromEnv({ OAUTH_ENCRYPTION_KEY: `${LEGACY}x` }));
    capture(() =>
      Keyring.fromEnv({
        EXORA_ENCRYPTION_KEYS: `k1:${k1.toString('base64')}`,
        EXORA_ENCRYPTION_ACTIVE_KEY: k2.toString('base64'),
      }),
    );
    capture(() => BlindIndex.fromEnv({ EXORA_BLIND_INDEX_KEY: indexKey.toString('hex') }));
    capture(() => loadCryptoFromEnv({ ...env, EXORA_BLIND_INDEX_KEY: k1.toString('base64') }));
    await captureAsync(() => hashPassword(''));
    await captureAsync(() => hashPassword(`${PASSWORD}${'x'.repeat(1024)}`));
    await captureAsync(() => verifyPassword(PASSWORD, PASSWORD)); // password stored as "hash"

    expect(errors).toHaveLength(22);
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      const e = error as Error;
      for (const text of [
        e.message,
        String(e),
        inspect(e),
        inspect(e, { showHidden: true }),
        JSON.stringify(e),
      ]) {
        expectClean(text);
        expect(text).not.toContain(value);
        expect(text).not.toContain(value.slice(7, 40));
      }
    }
  });
});
