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

/**
 * The most useful message of an error: the driver's own (Drizzle wraps it in "Failed query:
 * <sql>"), else the error's.
 */
export function reason(error: unknown): string {
  let current: any = error;
  let best: string | undefined;
  for (let depth = 0; depth < 6 && current; depth++) {
    if (typeof current.message === 'string' && current.message) {
      if (!best || !current.message.startsWith('Failed query')) best = current.message;
      if (typeof current.code === 'string') return current.message;
    }
    current = current.cause;
  }
  return best ?? String(error);
}
