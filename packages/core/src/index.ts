export * from './actor.ts';
export {
  type ConnectOptions,
  connect,
  defaultSqlitePath,
  isPostgresUrl,
  poolOptionsFromEnv,
  redactUrl,
  replicaOptionsFromEnv,
  resolveDatabaseUrl,
  splitPoolerParameter,
  sqliteFilename,
  workspaceRoot,
} from './connect.ts';
export type { Database, Dialect, DrizzleHandle, Executor, UnitMode } from './database.ts';
export { createStatements, dialectSchema, kitTables, type SchemaModule } from './ddl.ts';
export { ACTOR_FUNCTION, actorFunctionSql } from './engine/actor-sql.ts';
export { explain } from './engine/explain.ts';
export { KEYSET_PARAMS, keyset, type Page } from './engine/keyset.ts';
export { ownedRow } from './engine/owned-row.ts';
export {
  contextOf,
  type DomainContext,
  found,
  INSERT_MANY_MAX_ROWS,
  insertMany,
  lazyRepositories,
  publicColumns,
  type RepositoriesOf,
  type RepositoryFactories,
  repositoriesFor,
  repositoryPrototype,
  run,
  runMany,
  unit,
} from './engine/repository.ts';
export {
  actorHasRole,
  actorOrganization,
  type SchemaInfo,
  schemaInfo,
} from './engine/schema-info.ts';
export {
  type BuildContext,
  type CallContext,
  type ParamsFor,
  type ParamsOf,
  type ResultOf,
  Statement,
  type StatementOptions,
  statement,
} from './engine/statement.ts';
export * from './errors.ts';
export * from './introspect.ts';
export * from './kit/columns.ts';
export { snakeCase } from './kit/naming.ts';
export * from './kit/table.ts';
export { type AnyView, type View, type ViewBuildContext, view } from './kit/view.ts';
export { checkReady } from './ready.ts';
export type { ReplicaOptions, ReplicaSet, ReplicaStatus } from './replicas.ts';
export * from './validate.ts';
