import { createSecretKey } from 'node:crypto';
import { BlindIndex } from './blind-index.ts';
import { CryptoConfigError } from './errors.ts';
import { FieldCipher } from './field-cipher.ts';
import { decodeBase64Key, ENV, type Env, Keyring, keyEntries } from './keyring.ts';

export interface CryptoServices {
  keyring: Keyring;
  cipher: FieldCipher;
  blindIndex: BlindIndex;
}

/**
 * Everything from the environment in one call, for service start-up: the keyring
 * (`EXORA_ENCRYPTION_KEYS`, `EXORA_ENCRYPTION_ACTIVE_KEY`, `OAUTH_ENCRYPTION_KEY`), its cipher and
 * the blind index (`EXORA_BLIND_INDEX_KEY`). Problems from all variables are reported together,
 * and the blind-index key must differ from every encryption key.
 */
export function loadCryptoFromEnv(env: Env = process.env): CryptoServices {
  const problems: string[] = [];
  let keyring: Keyring | undefined;
  let blindIndex: BlindIndex | undefined;
  try {
    keyring = Keyring.fromEnv(env);
  } catch (error) {
    if (!(error instanceof CryptoConfigError)) throw error;
    problems.push(...error.problems);
  }
  try {
    blindIndex = BlindIndex.fromEnv(env);
  } catch (error) {
    if (!(error instanceof CryptoConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (keyring && blindIndex) {
    const bytes = decodeBase64Key(env[ENV.blindIndexKey]?.trim() ?? '');
    const indexKey = typeof bytes === 'string' ? undefined : createSecretKey(bytes);
    for (const entry of keyEntries(keyring).values()) {
      if (indexKey?.equals(entry.key)) {
        problems.push(
          `${ENV.blindIndexKey} is the same as encryption key "${entry.id}"; the blind index needs its own random key`,
        );
      }
    }
  }
  if (problems.length > 0 || !keyring || !blindIndex) throw new CryptoConfigError(problems);
  return { keyring, cipher: new FieldCipher(keyring), blindIndex };
}
