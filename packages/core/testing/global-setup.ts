/** vitest globalSetup: one Postgres server for the whole run, stopped at the end. */
import type { TestProject } from 'vitest/node';
import './provided.ts';
import { redactUrl } from '../src/connect.ts';
import { providePostgres } from './postgres-server.ts';

export default async function setup(project: TestProject) {
  const server = await providePostgres();
  console.log(`[exora] Postgres for tests: ${server.source} (${redactUrl(server.adminUrl)})`);
  project.provide('pgAdminUrl', server.adminUrl);
  return () => server.stop();
}
