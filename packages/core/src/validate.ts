/**
 * Small input checks for repositories: run before any SQL, each failure a ValidationError
 * naming the field. (Messages never echo the value: it may be a secret.)
 */
import { isUuid } from './actor.ts';
import { ValidationError } from './errors.ts';

export function requireText(
  value: unknown,
  field: string,
  options: { min?: number; max?: number; pattern?: RegExp; patternHint?: string } = {},
): string {
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  const trimmed = value.trim();
  const min = options.min ?? 1;
  if (trimmed.length < min) {
    throw new ValidationError(
      field,
      min === 1 ? 'must not be empty' : `must be at least ${min} characters`,
    );
  }
  if (options.max !== undefined && trimmed.length > options.max) {
    throw new ValidationError(field, `must be at most ${options.max} characters`);
  }
  if (options.pattern && !options.pattern.test(trimmed)) {
    throw new ValidationError(field, options.patternHint ?? 'has an invalid format');
  }
  return trimmed;
}

export function optionalText(
  value: unknown,
  field: string,
  options: { max?: number } = {},
): string | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  if (options.max !== undefined && value.length > options.max) {
    throw new ValidationError(field, `must be at most ${options.max} characters`);
  }
  return value;
}

export function requireUuid(value: unknown, field: string): string {
  if (!isUuid(value)) throw new ValidationError(field, 'must be a UUID');
  return value.toLowerCase();
}

export function requireOneOf<const V extends readonly string[]>(
  value: unknown,
  field: string,
  values: V,
): V[number] {
  if (typeof value !== 'string' || !values.includes(value)) {
    throw new ValidationError(field, `must be one of ${values.join(', ')}`);
  }
  return value as V[number];
}

export function requireDate(value: unknown, field: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new ValidationError(field, 'must be a valid Date');
  }
  return value;
}

export function optionalDate(value: unknown, field: string): Date | null | undefined {
  if (value === undefined || value === null) return value;
  return requireDate(value, field);
}

export function requirePlainObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object');
  }
  return value as Record<string, unknown>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Trimmed and lower-cased: emails are unique without regard to case. */
export function normalizeEmail(value: unknown, field = 'email'): string {
  return requireText(value, field, {
    max: 254,
    pattern: EMAIL,
    patternHint: 'must be an email address',
  }).toLowerCase();
}

/** A whole number within `min` and `max` (inclusive). */
export function requireInteger(
  value: unknown,
  field: string,
  options: { min?: number; max?: number } = {},
): number {
  const min = options.min ?? Number.MIN_SAFE_INTEGER;
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}
