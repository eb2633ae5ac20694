import { type AgentsRepositories, agentsRepositoryFactories } from '@exora/agents';
import {
  type ConversationsRepositories,
  conversationsRepositoryFactories,
} from '@exora/conversations';
import type { AnyTable } from '@exora/core';
import {
  type Actor,
  checkReady,
  connect,
  contextOf,
  type Database,
  type Dialect,
  type DrizzleHandle,
  type Executor,
  insertMany,
  type ReplicaStatus,
  replicaOptionsFromEnv,
  repositoriesFor,
  repositoryPrototype,
  resolveDatabaseUrl,
  serviceActor,
  userActor,
} from '@exora/core';
import { type CrmRepositories, crmRepositoryFactories } from '@exora/crm';
import { type CryptoServices, loadCryptoFromEnv } from '@exora/crypto';
import { type IdentityRepositories, identityRepositoryFactories } from '@exora/identity';
import { type InsightsRepositories, insightsRepositoryFactories } from '@exora/insights';
import {
  type NotificationsRepositories,
  notificationsRepositoryFactories,
} from '@exora/notifications';
import { type ProjectsRepositories, projectsRepositoryFactories } from '@exora/projects';
import { type RecorderRepositories, recorderRepositoryFactories } from '@exora/recorder';
import { type VaultRepositories, vaultRepositoryFactories } from '@exora/vault';
import { type WorkflowsRepositories, workflowsRepositoryFactories } from '@exora/workflows';
import { type AnalyticsRepository, createAnalyticsRepository } from './repositories/analytics.ts';
import * as schema from './schema.ts';

export interface CreateDbOptions {
  /**
   * Default: `DATABASE_URL`, else PG* variables, else `data/exora.db` at the workspace root. A
   * relative SQLite path starts at the workspace root too (the nearest directory up from the
   * working directory with `pnpm-workspace.yaml`; outside a workspace, the working directory).
   */
  url?: string;
  /** Where to read `DATABASE_URL`, pool settings and the encryption keys (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Crypto services; default from `EXORA_ENCRYPTION_KEYS`, `EXORA_BLIND_INDEX_KEY`, `OAUTH_ENCRYPTION_KEY`. */
  crypto?: CryptoServices;
  /**
   * Read replicas of the Postgres primary (`postgres://` URLs); default `DATABASE_REPLICA_URLS`
   * (comma-separated). Reads a repository marks stale go to them, round-robin, except an
   * actor's reads after its own write until a replica has replayed it; writes and transactions
   * go to the primary. SQLite with replicas fails here with a `ConfigurationError`.
   */
  replicas?: readonly string[];
  /**
   * A replica further behind than this is skipped (default `DATABASE_REPLICA_MAX_LAG_MS`, else
   * 5000); the replicas' state is read every `checkIntervalMs` (`DATABASE_REPLICA_CHECK_MS`,
   * else 250).
   */
  replication?: { maxLagMs?: number; checkIntervalMs?: number };
}

/** Every domain's repositories, bound to one actor. */
export type Repositories = IdentityRepositories &
  VaultRepositories &
  AgentsRepositories &
  WorkflowsRepositories &
  CrmRepositories &
  NotificationsRepositories &
  InsightsRepositories &
  RecorderRepositories &
  ProjectsRepositories &
  ConversationsRepositories & {
    /** The analytics views, read for one user. */
    readonly analytics: AnalyticsRepository;
    readonly actor: Actor;
    /**
     * Inserts many rows of any table for this actor, all or nothing, in multi-row chunks (one
     * round trip on Postgres): imports and logs. Every row gives the same fields; the owner
     * column is the acting user's (a service gives it per row); secrets are encrypted per row.
     * Returns the number of rows inserted.
     */
    insertMany<T extends AnyTable>(
      table: T,
      rows: readonly T['pg']['$inferInsert'][],
    ): Promise<number>;
    /**
     * Several repository calls as one unit, for the same actor: all or nothing. Calls made
     * concurrently inside it run one at a time; if any fails, the whole transaction rolls back
     * and the promise rejects, even if the callback caught the error.
     */
    transaction<R>(fn: (repos: Repositories) => Promise<R>): Promise<R>;
  };

/**
 * Every domain's repositories on one prototype: `db.forUser(id)` is one small object, and each
 * repository is built the first time the request uses it.
 */
const repositories: Repositories = repositoryPrototype(
  {
    ...identityRepositoryFactories,
    ...vaultRepositoryFactories,
    ...agentsRepositoryFactories,
    ...workflowsRepositoryFactories,
    ...crmRepositoryFactories,
    ...notificationsRepositoryFactories,
    ...insightsRepositoryFactories,
    ...recorderRepositoryFactories,
    ...projectsRepositoryFactories,
    ...conversationsRepositoryFactories,
    analytics: createAnalyticsRepository,
  },
  {
    get actor(): Actor {
      return contextOf(this).actor;
    },
    insertMany<T extends AnyTable>(table: T, rows: readonly T['pg']['$inferInsert'][]) {
      return insertMany(contextOf(this), table, rows);
    },
    transaction<R>(fn: (repos: Repositories) => Promise<R>): Promise<R> {
      const ctx = contextOf(this);
      return ctx.exec.unit(ctx, 'write', (tx) => fn(repositoriesOf(tx, ctx.actor, ctx.crypto)));
    },
  },
) as Repositories;

function repositoriesOf(exec: Executor, actor: Actor, crypto: CryptoServices): Repositories {
  return repositoriesFor(repositories, { exec, actor, crypto });
}

export interface ExoraDb {
  readonly dialect: Dialect;
  /** Every table of the platform (kit tables: `.pg` / `.sqlite`, and `db.table(t)` below). */
  readonly schema: typeof schema;
  /**
   * The raw Drizzle handle, for queries no repository covers: no actor, no owner filters, no
   * encryption. Row-level rules are then yours.
   */
  readonly rawDrizzle: DrizzleHandle;
  /** The core handle: `table()`, `transaction()`, `execute()`. */
  readonly database: Database;
  /** Repositories acting for a signed-in user (and their organization, for company data). */
  forUser(userId: string, organizationId?: string | null): Repositories;
  /** Repositories acting across users, for background jobs and sign-in; say why. */
  asService(reason: string): Repositories;
  /**
   * Start-up check, once before serving: the database answers and has this code's schema.
   * Throws with a one-line message saying what to do: `ConnectionError` (unreachable),
   * `ConfigurationError` (unknown database or role, wrong password, not a SQLite file, missing
   * grants) or `SchemaMismatchError` (never pushed: `pnpm db:push`; behind: `pnpm db:push` on
   * SQLite, `pnpm db:migrate` on Postgres).
   */
  ready(): Promise<void>;
  /** What the last check found of each read replica (none without replicas). */
  replicas(): readonly ReplicaStatus[];
  /** A raw transaction on the core handle (all or nothing; nested calls are savepoints). */
  transaction<R>(fn: (tx: Executor) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

/**
 * Opens the platform database and returns every domain's repositories. Reads the encryption
 * keys at start-up and fails with a message naming the variable when they are missing or wrong.
 */
export function createDb(options: CreateDbOptions = {}): ExoraDb {
  const env = options.env ?? process.env;
  const crypto = options.crypto ?? loadCryptoFromEnv(env);
  const fromEnv = replicaOptionsFromEnv(env);
  const database = connect(options.url ?? resolveDatabaseUrl(env), {
    env,
    schema: [schema],
    replicas: {
      urls: options.replicas ?? fromEnv.urls,
      maxLagMs: options.replication?.maxLagMs ?? fromEnv.maxLagMs,
      checkIntervalMs: options.replication?.checkIntervalMs ?? fromEnv.checkIntervalMs,
    },
  });
  return {
    dialect: database.dialect,
    schema,
    rawDrizzle: database.db,
    database,
    forUser: (userId, organizationId) =>
      repositoriesOf(database, userActor(userId, organizationId), crypto),
    asService: (reason) => repositoriesOf(database, serviceActor(reason), crypto),
    async ready() {
      await checkReady(database);
      await database.replicas?.check(); // which replicas serve from the start; never throws
    },
    replicas: () => database.replicas?.status() ?? [],
    transaction: (fn) => database.transaction(fn),
    close: () => database.close(),
  };
}
