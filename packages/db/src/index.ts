/**
 * `@exora/db`, what a backend service imports: `createDb()` and the handle it returns, the
 * repositories' input and output types, the errors a call can throw (each with a stable `code`),
 * `Dialect` and the `schema`. Everything else stays in the packages it belongs to: the table kit
 * and the engine in `@exora/core`, crypto in `@exora/crypto`, the schema for tools in
 * `@exora/db/schema`, reference rows in `@exora/db/seed`. Every name here is public API:
 * `pnpm knip` fails on one nothing uses (see knip.json).
 */

export type {
  AddMetricsInput,
  AgentMessage,
  AgentMessagesRepository,
  CreateAgentInput,
  RecordActivityInput,
  RecordAgentMessageInput,
} from '@exora/agents';
export type {
  AppendChatMessageInput,
  AppendMessageInput,
  ChatMessage,
  ChatMessagePage,
  ChatMessageRole,
  ChatMessagesRepository,
  ChatSessionPage,
  ChatSessionsRepository,
  Conversation,
  ConversationOutcome,
  ConversationPage,
  ConversationsRepository,
  MemoryScope,
  Message,
  MessagePage,
  MessageTreeNode,
  PromptsRepository,
  PromptValue,
  PutMemoryOptions,
  SavePromptInput,
  SharedMemory,
  SharedMemoryRepository,
  StartConversationInput,
} from '@exora/conversations';
export type { Actor, Dialect, ErrorCode, Page, ReplicaStatus } from '@exora/core';
// Errors from the database layer: `code` says which (ErrorCode), `retryable` whether to retry.
export {
  CheckViolationError,
  ConfigurationError,
  ConnectionError,
  type ConstraintDetails,
  type ConstraintKind,
  ConstraintViolationError,
  DatabaseBusyError,
  ExoraDbError,
  ForeignKeyViolationError,
  InvalidDataError,
  NotFoundError,
  NotNullViolationError,
  PermissionError,
  PreconditionError,
  QueryError,
  SchemaMismatchError,
  TransactionStateError,
  UniqueViolationError,
  ValidationError,
} from '@exora/core';
export type {
  CreateLeadInput,
  FindLeadsOptions,
  Lead,
  LeadMetadataMatch,
  LeadStatus,
  LeadsRepository,
  ProfileInput,
  RecommendationInput,
} from '@exora/crm';
// Errors from the keys and secrets: a missing or malformed key at createDb(), a ciphertext that
// does not decrypt, a password input out of bounds.
export {
  CryptoConfigError,
  CryptoError,
  type CryptoServices,
  CryptoUsageError,
  DecryptionError,
  PasswordHashFormatError,
  PasswordInputError,
  UnknownKeyError,
} from '@exora/crypto';
export type {
  CreateUserInput,
  OrganizationsRepository,
  PublicOrganization,
  PublicUser,
  SessionsRepository,
  SetupProgressRepository,
  SubdomainConfigsRepository,
  UserProfileInput,
  UserProfilesRepository,
  UsersRepository,
} from '@exora/identity';
export type {
  ActivityLogInput,
  ActivityLogPage,
  AddInsightInput,
  CreateReportInput,
  HealthReport,
  Recipient,
} from '@exora/insights';
export {
  type ClaimedEmailJob,
  ClaimLostError,
  type CreateEmailInput,
  type NotificationPage,
} from '@exora/notifications';
export type {
  CliSessionsRepository,
  CreateProjectInput,
  DeploymentLogsRepository,
  ProjectPage,
  ProjectsRepository,
  PublicCliSession,
  RecordToolExecutionInput,
  SetDeploymentStatusInput,
  StartStepInput,
  StepResult,
  ToolExecutionsRepository,
} from '@exora/projects';
export type {
  HealthLogsRepository,
  HealthRunInput,
  RecordedWorkflowsRepository,
  RecorderNotificationsRepository,
  RecordWorkflowInput,
  ScreenshotsRepository,
  StepInput,
  StepsRepository,
  StoreScreenshotInput,
} from '@exora/recorder';
export type {
  ApiKeyInfo,
  ApiKeysRepository,
  CreateApiKeyInput,
  CreatedApiKey,
  CreateIntegrationInput,
  CredentialDecrypted,
  CredentialInfo,
  CredentialsRepository,
  IntegrationInfo,
  IntegrationStatus,
  IntegrationsRepository,
  OauthTokenDecrypted,
  OauthTokenInfo,
  OauthTokensRepository,
  SaveCredentialInput,
  SaveOauthTokenInput,
} from '@exora/vault';
export {
  type ActivateWorkflowInput,
  type CreateScheduleInput,
  type CreateWorkflowRunInput,
  type DueSchedule,
  LockLostError,
  MissingOAuthGrantError,
  type StartExecutionInput,
  type WorkflowExecution,
  type WorkflowExecutionPage,
  type WorkflowExecutionsRepository,
  type WorkflowLock,
} from '@exora/workflows';
export { type CreateDbOptions, createDb, type ExoraDb, type Repositories } from './create-db.ts';
export type {
  AgentFailureRateRow,
  AnalyticsRepository,
  ConversationsPerDayRow,
  LeadPipelineRow,
  WorkflowExecutionStatsRow,
} from './repositories/analytics.ts';
export * as schema from './schema.ts';
