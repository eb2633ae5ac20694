/** vitest globalSetup: one Postgres server for the whole run, stopped at the end. */
import type { TestProject } from 'vitest/node';
import { providePostgres } from './postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await providePostgres();
  project.provide('pgAdminUrl', server.adminUrl);
  return () => server.stop();
}
