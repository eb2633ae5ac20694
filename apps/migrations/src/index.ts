/** The migrations app as a library: what the CLI runs, for tests and deploy scripts. */
export { run as runCli } from './cli.ts';
export { type CopyOptions, type CopyResult, copyDatabase, copyPlan } from './copy.ts';
export {
  currentSnapshot,
  drizzleStatements,
  emptySnapshot,
  migrationSql,
  planMigration,
  type Snapshot,
} from './diff.ts';
export * from './errors.ts';
export {
  checksum,
  DESTRUCTIVE_MARKER,
  defaultMigrationsDir,
  destructiveStatements,
  type MigrationFile,
  parseStatements,
  readMigrations,
} from './files.ts';
export { DestructiveMigrationError, DIALECTS, generate, pendingChange } from './generate.ts';
export {
  type AppliedMigration,
  applyStatements,
  HISTORY_TABLE,
  MIGRATION_LOCK,
  migrate,
  readHistory,
  rollback,
  type StatusEntry,
  status,
} from './migrator.ts';
export { diffObjects, type SqlObject, schemaObjects } from './objects.ts';
export { assertMigrationsCurrent, push } from './push.ts';
export { DEFAULT_APP_ROLE, ensureAppRole } from './roles.ts';
export { seed } from './seed.ts';
export {
  loadSource,
  type ReferenceData,
  referenceData,
  type SchemaSource,
  type SqlObjectSpec,
  sourceFromModules,
  sqlObject,
} from './source.ts';
export {
  compareShapes,
  type Difference,
  expectedShape,
  formatReport,
  type VerifyReport,
  verify,
} from './verify.ts';
