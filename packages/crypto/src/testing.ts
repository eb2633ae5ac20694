/**
 * Helpers for other packages' tests: real keys, random per call, never from the environment.
 * Import from `@exora/crypto/testing`.
 */
import { randomBytes } from 'node:crypto';
import { BlindIndex } from './blind-index.ts';
import { FieldCipher } from './field-cipher.ts';
import { Keyring } from './keyring.ts';

export interface TestKeyringOptions {
  /** Key ids to create (default `['k1']`). */
  ids?: readonly string[];
  /** Active key (default: the last id). */
  activeKeyId?: string;
}

/** A keyring of fresh random keys. */
export function createTestKeyring(options: TestKeyringOptions = {}): Keyring {
  const ids = options.ids ?? ['k1'];
  return new Keyring({
    keys: ids.map((id) => ({ id, key: randomBytes(32) })),
    activeKeyId: options.activeKeyId ?? ids.at(-1) ?? 'k1',
  });
}

/** A keyring, its cipher and a blind index, all with fresh random keys. */
export function createTestCrypto(options: TestKeyringOptions = {}): {
  keyring: Keyring;
  cipher: FieldCipher;
  blindIndex: BlindIndex;
} {
  const keyring = createTestKeyring(options);
  return { keyring, cipher: new FieldCipher(keyring), blindIndex: new BlindIndex(randomBytes(32)) };
}

/** Env vars (`EXORA_ENCRYPTION_KEYS`, `EXORA_BLIND_INDEX_KEY`) holding fresh random keys. */
export function createTestEnv(ids: readonly string[] = ['k1']): Record<string, string> {
  return {
    EXORA_ENCRYPTION_KEYS: ids.map((id) => `${id}:${randomBytes(32).toString('base64')}`).join(','),
    EXORA_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
  };
}
