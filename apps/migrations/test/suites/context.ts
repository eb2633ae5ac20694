import { rmSync } from 'node:fs';
import type { Dialect } from '@exora/core';
import { afterAll, beforeAll } from 'vitest';
import { type FreshDatabase, fixtureMigrations, freshDatabase } from '../helpers.ts';

export interface MigrationsContext {
  dialect: Dialect;
  /** The fixture migrations root (0001 = core sample, 0002 = fixture v2), made in beforeAll. */
  dir(): string;
  /** A new empty database of this dialect, disposed after the file's tests. */
  database(): Promise<FreshDatabase>;
  /** A temporary folder removed after the file's tests. */
  track(path: string): string;
}

export function useMigrationsContext(dialect: Dialect): MigrationsContext {
  let dir: string | undefined;
  const databases: FreshDatabase[] = [];
  const paths: string[] = [];
  beforeAll(async () => {
    dir = await fixtureMigrations();
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.dispose()));
    for (const p of [dir, ...paths]) if (p) rmSync(p, { recursive: true, force: true });
  });
  return {
    dialect,
    dir() {
      if (!dir) throw new Error('fixture migrations not ready');
      return dir;
    },
    async database() {
      const db = await freshDatabase(dialect);
      databases.push(db);
      return db;
    },
    track(path) {
      paths.push(path);
      return path;
    },
  };
}
