export * from './actor.ts';
export {
  type ConnectOptions,
  connect,
  defaultSqlitePath,
  isPostgresUrl,
  poolOptionsFromEnv,
  redactUrl,
  resolveDatabaseUrl,
} from './connect.ts';
export type { Database, Dialect, DrizzleHandle, Executor } from './database.ts';
export { driverValue } from './database.ts';
export { createStatements, dialectSchema, kitTables, type SchemaModule } from './ddl.ts';
export * from './errors.ts';
export * from './introspect.ts';
export * from './kit/columns.ts';
export { snakeCase } from './kit/naming.ts';
export * from './kit/table.ts';
export * from './validate.ts';
