/**
 * What every Postgres benchmark does before it measures: the schema pushed by the owner, the
 * application role granted, and the role's URL for calls under row-level security.
 */
import { connect } from '@exora/core';
import { schema } from '@exora/db';
import { defaultMigrationsDir, ensureAppRole, loadSource, push } from '@exora/migrations';

/** Pushes the schema to the database at `ownerUrl` (as its owner) and grants `appRole`. */
export async function pushWithAppRole(ownerUrl: string, appRole: string): Promise<void> {
  const owner = connect(ownerUrl, { schema: [schema] });
  try {
    await push(owner, defaultMigrationsDir(), await loadSource());
    await ensureAppRole(owner, { appRole });
  } finally {
    await owner.close();
  }
}

/** `url` as `role` (trust authentication: no password). */
export function asRole(url: URL, role: string): string {
  const app = new URL(url);
  app.username = role;
  app.password = '';
  return app.toString();
}
