export {
  BlindIndex,
  type BlindIndexNormalization,
  type BlindIndexOptions,
  constantTimeEqual,
  normalizeForIndex,
} from './blind-index.ts';
export { type CryptoServices, loadCryptoFromEnv } from './config.ts';
export {
  CryptoConfigError,
  CryptoError,
  CryptoUsageError,
  DecryptionError,
  type DecryptionFailure,
  PasswordHashFormatError,
  PasswordInputError,
  UnknownKeyError,
} from './errors.ts';
export {
  FieldCipher,
  type FieldContext,
  FORMAT_VERSION,
  isEncrypted,
  keyIdOf,
  NONCE_BYTES,
  TAG_BYTES,
} from './field-cipher.ts';
export {
  ENV,
  type Env,
  KEY_BYTES,
  KEY_ID_PATTERN,
  type KeyInput,
  Keyring,
  type KeyringOptions,
  LEGACY_KEY_ID,
} from './keyring.ts';
export { mask } from './mask.ts';
export {
  type Argon2Params,
  argon2NeedsRehash,
  hashPassword,
  isBcryptHash,
  MAX_PASSWORD_LENGTH,
  PASSWORD_PARAMS,
  type PasswordVerification,
  parseArgon2Hash,
  verifyPassword,
} from './password.ts';
export {
  type RotateOptions,
  type RotationProgress,
  type RotationResult,
  type RotationRow,
  type RotationUpdate,
  rotate,
} from './rotation.ts';
