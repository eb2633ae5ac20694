/** Failures a person can act on; the CLI prints the message alone and exits non-zero. */
export class MigrationError extends Error {
  override readonly name: string = 'MigrationError';
}

/** A bad command line or environment (exit code 2). */
export class UsageError extends MigrationError {
  override readonly name = 'UsageError';
}

/** The database could not be reached (exit code 2). */
export class ConnectionError extends MigrationError {
  override readonly name = 'ConnectionError';
}

/** The committed migrations do not cover the schema: run `pnpm db:generate`. */
export class StaleMigrationsError extends MigrationError {
  override readonly name = 'StaleMigrationsError';
}

/** A db:copy that was refused or failed: nothing was written to the target. */
export class CopyError extends MigrationError {
  override readonly name = 'CopyError';
}

/** The text before the first `separator` (a line break unless given). */
export function firstLine(text: string, separator = '\n'): string {
  const end = text.indexOf(separator);
  return end === -1 ? text : text.slice(0, end);
}

/**
 * The most useful message of an error: the driver's own (Drizzle wraps it in "Failed query:
 * <sql>"), else the error's.
 */
export function reason(error: unknown): string {
  let current = error as { message?: unknown; code?: unknown; cause?: unknown } | undefined;
  let best: string | undefined;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (typeof current.message === 'string' && current.message) {
      if (!best || !current.message.startsWith('Failed query')) best = current.message;
      if (typeof current.code === 'string') return current.message;
    }
    current = current.cause as typeof current;
  }
  return best ?? String(error);
}
