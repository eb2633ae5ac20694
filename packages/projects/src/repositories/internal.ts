import { ForeignKeyViolationError, NotFoundError, ValidationError } from '@exora/core';

/**
 * A foreign-key miss on a (project, user) pair, or on a step of the project: the parent is not
 * the actor's (or not there), reported as not found.
 */
export async function parentOf<T>(entity: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ForeignKeyViolationError) throw new NotFoundError(entity);
    throw error;
  }
}

/** A duration in milliseconds: a non-negative integer, or null when not given. */
export function optionalDuration(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ValidationError(field, 'must be a non-negative integer');
  }
  return value;
}

/** A list size from 1 to `max` (`fallback` when left out). */
export function limitOf(value: unknown, fallback: number, max: number): number {
  const limit = value ?? fallback;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError('limit', `must be an integer from 1 to ${max}`);
  }
  return limit;
}

/** An optional JSON object (`{}` when left out). */
export function objectOr(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'must be an object');
  }
  return value as Record<string, unknown>;
}
