/**
 * `pnpm bench`: what a backend calls, through `createDb`, against hand-written raw driver code
 * doing the same work on the same database in the same process, on both dialects.
 *
 * "The same work" means the same rows returned in the same shape (timestamps as Date, JSON
 * parsed, secrets decrypted), and on Postgres the same security: the raw side connects as the
 * same application role, so it must open a transaction and set the actor for row-level security
 * too, which it does the fastest way by hand (BEGIN, `exora_set_actor`, the query and COMMIT
 * pipelined on one connection). The bare query without any of that is printed as well, for
 * reference.
 *
 * Rounds are interleaved (raw, then ours, then ours, then raw, ...), the ratio is taken per round
 * (ours / raw in operations per second) and the median of the rounds is reported. Every
 * operation's results are compared with the raw side's before timing.
 *
 *   pnpm bench                                   (both dialects; Postgres: BENCH_DATABASE_URL,
 *                                                 default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_ITERATIONS_SQLITE=2000 BENCH_ITERATIONS_POSTGRES=500 BENCH_ROUNDS=15 pnpm bench
 *   BENCH_DIALECTS=sqlite pnpm bench
 */
import { deepStrictEqual } from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect, type Dialect } from '@exora/core';
import { createTestCrypto } from '@exora/crypto/testing';
import { createDb, type ExoraDb, schema } from '@exora/db';
import { defaultMigrationsDir, loadSource, push } from '@exora/migrations';
import BetterSqlite3 from 'better-sqlite3';
import postgres from 'postgres';
import { asRole, pushWithAppRole } from './app-database.ts';
import { markdownTable } from './markdown.ts';

/**
 * Calls per round on one dialect: BENCH_ITERATIONS_SQLITE / _POSTGRES, else BENCH_ITERATIONS,
 * else 1000 on SQLite and 200 on Postgres. Many short rounds rather than a few long ones: a
 * round disturbed by other work on the machine then moves the median less.
 */
const iterationsOf = (dialect: Dialect) =>
  Number(
    process.env[`BENCH_ITERATIONS_${dialect.toUpperCase()}`] ??
      process.env.BENCH_ITERATIONS ??
      (dialect === 'postgres' ? 200 : 1000),
  );
/** Bulk inserts of BULK_ROWS rows per round, for `n` single calls per round. */
const bulkIterations = (n: number) => Math.max(8, Math.round(n / 100));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31);
const BULK_ROWS = 1000;
const DIALECTS = (process.env.BENCH_DIALECTS ?? 'sqlite,postgres').split(',') as Dialect[];
const APP_ROLE = 'exora_bench_app';

type Fn = (i: number) => unknown;
interface Operation {
  name: string;
  ours: Fn;
  raw: Fn;
  /** The bare statement without the transaction and actor settings (Postgres reads). */
  bare?: Fn;
  iterations: number;
  /** Compares one result of each side (volatile fields dropped). */
  check(): Promise<void>;
}
interface Result {
  dialect: Dialect;
  name: string;
  raw: number;
  ours: number;
  ratio: number;
  low: number;
  high: number;
  bare?: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function opsPerSecond(fn: Fn, n: number, offset: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(offset + i);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

async function measure(dialect: Dialect, op: Operation): Promise<Result> {
  await op.check();
  const warm = Math.min(200, op.iterations);
  await opsPerSecond(op.raw, warm, 0);
  await opsPerSecond(op.ours, warm, 0);
  const raws: number[] = [];
  const ourss: number[] = [];
  const bares: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const offset = (r + 1) * op.iterations;
    let raw: number;
    let ours: number;
    if (r % 2 === 0) {
      raw = await opsPerSecond(op.raw, op.iterations, offset);
      ours = await opsPerSecond(op.ours, op.iterations, offset);
    } else {
      ours = await opsPerSecond(op.ours, op.iterations, offset);
      raw = await opsPerSecond(op.raw, op.iterations, offset);
    }
    if (op.bare) bares.push(await opsPerSecond(op.bare, op.iterations, offset));
    raws.push(raw);
    ourss.push(ours);
    ratios.push(ours / raw);
  }
  const result: Result = {
    dialect,
    name: op.name,
    raw: median(raws),
    ours: median(ourss),
    ratio: median(ratios),
    low: Math.min(...ratios),
    high: Math.max(...ratios),
    ...(op.bare ? { bare: median(bares) } : {}),
  };
  console.log(
    `  ${op.name.padEnd(34)} raw ${fmt(result.raw)}  @exora/db ${fmt(result.ours)}  ${result.ratio.toFixed(2)}x (${result.low.toFixed(2)}-${result.high.toFixed(2)})${result.bare ? `  bare query ${fmt(result.bare)}` : ''}`,
  );
  return result;
}

const fmt = (n: number) => `${Math.round(n).toString().padStart(7)}/s`;

// ---------------------------------------------------------------------------------------------
// The data both sides work on.

interface Fixture {
  db: ExoraDb;
  crypto: ReturnType<typeof createTestCrypto>;
  userId: string;
  listerId: string;
  sid: string;
  sess: Record<string, unknown>;
}

async function seed(db: ExoraDb, crypto: Fixture['crypto']): Promise<Fixture> {
  const signup = db.asService('bench setup');
  const user = await signup.users.create({ email: `bench-${randomUUID()}@example.com` });
  const lister = await signup.users.create({ email: `lister-${randomUUID()}@example.com` });
  const sid = `sid-${randomUUID()}`;
  const sess = { cookie: { maxAge: 86_400_000, httpOnly: true }, userId: user.id, cart: [1, 2] };
  await db.asService('session store').sessions.set(sid, sess, new Date(Date.now() + 86_400_000));
  const me = db.forUser(user.id);
  await me.userProfiles.upsert({
    displayName: 'Ada',
    bio: 'hello',
    preferences: { theme: 'dark' },
  });
  await me.oauthTokens.save({
    provider: 'google',
    accessToken: 'ya29.a0AfH6SMBx-access-token',
    refreshToken: '1//0g-refresh-token',
    scopes: ['email', 'profile'],
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  const them = db.forUser(lister.id);
  for (let p = 0; p < 20; p++) {
    await them.oauthTokens.save({
      provider: `provider-${String(p).padStart(2, '0')}`,
      accessToken: `t${p}`,
    });
  }
  return { db, crypto, userId: user.id, listerId: lister.id, sid, sess };
}

const GRANT_COLUMNS = [
  ['id', 'id'],
  ['user_id', 'userId'],
  ['provider', 'provider'],
  ['token_type', 'tokenType'],
  ['scopes', 'scopes'],
  ['expires_at', 'expiresAt'],
  ['revoked_at', 'revokedAt'],
  ['created_at', 'createdAt'],
  ['updated_at', 'updatedAt'],
] as const;
const PROFILE_COLUMNS = [
  ['id', 'id'],
  ['user_id', 'userId'],
  ['display_name', 'displayName'],
  ['avatar_url', 'avatarUrl'],
  ['bio', 'bio'],
  ['preferences', 'preferences'],
  ['created_at', 'createdAt'],
  ['updated_at', 'updatedAt'],
] as const;
const select = (cols: readonly (readonly [string, string])[]) =>
  cols.map(([c, k]) => `"${c}" as "${k}"`).join(', ');

const bound = (userId: string, provider: string) => JSON.stringify([userId, provider]);
const volatile = (row: unknown) => {
  const {
    id: _id,
    createdAt: _c,
    updatedAt: _u,
    provider: _p,
    ...rest
  } = row as Record<string, unknown>;
  return rest;
};

function operations(f: Fixture, raw: RawSide, dialect: Dialect): Operation[] {
  const N = iterationsOf(dialect);
  const { db, userId, listerId, sid } = f;
  const service = db.asService('session store');
  const importer = db.asService('session import');
  const grant = {
    accessToken: 'ya29.a0AfH6SMBx-new-access',
    refreshToken: '1//0g-new-refresh',
    scopes: ['email'],
    expiresAt: new Date(Date.UTC(2030, 0, 1)),
  };
  const bulkRows = (tag: string, i: number) =>
    Array.from({ length: BULK_ROWS }, (_, r) => ({
      sid: `${tag}-${i}-${r}-${randomUUID()}`,
      sess: { cookie: { maxAge: 1000 }, n: r },
      expire: new Date(Date.UTC(2031, 0, 1)),
    }));

  const ops: Operation[] = [
    {
      name: 'session lookup',
      iterations: N,
      ours: () => service.sessions.get(sid),
      raw: () => raw.sessionGet(sid),
      bare: raw.bare ? () => raw.bare!.sessionGet(sid) : undefined,
      async check() {
        deepStrictEqual(await service.sessions.get(sid), await raw.sessionGet(sid));
      },
    },
    {
      name: 'get profile',
      iterations: N,
      ours: () => db.forUser(userId).userProfiles.get(),
      raw: () => raw.profileGet(userId),
      bare: raw.bare ? () => raw.bare!.profileGet(userId) : undefined,
      async check() {
        deepStrictEqual(await db.forUser(userId).userProfiles.get(), await raw.profileGet(userId));
      },
    },
    {
      name: 'upsert profile',
      iterations: N,
      ours: (i) => db.forUser(userId).userProfiles.upsert({ bio: `bio ${i}` }),
      raw: (i) => raw.profileUpsert(userId, `bio ${i}`),
      async check() {
        const ours = await db.forUser(userId).userProfiles.upsert({ bio: 'same' });
        deepStrictEqual(volatile(ours), volatile(await raw.profileUpsert(userId, 'same')));
      },
    },
    {
      name: 'get a decrypted OAuth grant',
      iterations: N,
      ours: () => db.forUser(userId).oauthTokens.getDecrypted('google'),
      raw: () => raw.grantGet(userId, 'google'),
      async check() {
        deepStrictEqual(
          await db.forUser(userId).oauthTokens.getDecrypted('google'),
          await raw.grantGet(userId, 'google'),
        );
      },
    },
    {
      name: 'save a grant (new)',
      iterations: N,
      ours: (i) =>
        db.forUser(userId).oauthTokens.save({ provider: `ours-${i}-${randomUUID()}`, ...grant }),
      raw: (i) => raw.grantSave(userId, `raw-${i}-${randomUUID()}`, grant),
      async check() {
        const ours = await db
          .forUser(userId)
          .oauthTokens.save({ provider: 'check-new-a', ...grant });
        deepStrictEqual(
          volatile(ours),
          volatile(await raw.grantSave(userId, 'check-new-b', grant)),
        );
        // What the raw side stored decrypts through the repository, and the other way round.
        const back = await db.forUser(userId).oauthTokens.getDecrypted('check-new-b');
        deepStrictEqual(back?.accessToken, grant.accessToken);
        deepStrictEqual(
          ((await raw.grantGet(userId, 'check-new-a')) as { refreshToken?: string } | null)
            ?.refreshToken,
          grant.refreshToken,
        );
      },
    },
    {
      name: 'save a grant (existing)',
      iterations: N,
      ours: () => db.forUser(userId).oauthTokens.save({ provider: 'existing-ours', ...grant }),
      raw: () => raw.grantSave(userId, 'existing-raw', grant),
      async check() {
        const ours = await db
          .forUser(userId)
          .oauthTokens.save({ provider: 'existing-ours', ...grant });
        deepStrictEqual(
          volatile(ours),
          volatile(await raw.grantSave(userId, 'existing-raw', grant)),
        );
      },
    },
    {
      name: 'list 20 grants',
      iterations: N,
      ours: () => db.forUser(listerId).oauthTokens.list(),
      raw: () => raw.grantList(listerId),
      bare: raw.bare ? () => raw.bare!.grantList(listerId) : undefined,
      async check() {
        const ours = await db.forUser(listerId).oauthTokens.list();
        deepStrictEqual(ours.length, 20);
        deepStrictEqual(ours, await raw.grantList(listerId));
      },
    },
    {
      name: `bulk insert ${BULK_ROWS} rows`,
      iterations: bulkIterations(N),
      ours: (i) => importer.insertMany(schema.sessions, bulkRows('ours', i)),
      raw: (i) => raw.sessionsInsert(bulkRows('raw', i)),
      async check() {
        deepStrictEqual(
          await importer.insertMany(schema.sessions, bulkRows('check-ours', 0)),
          await raw.sessionsInsert(bulkRows('check-raw', 0)),
        );
      },
    },
  ];
  return ops;
}

// ---------------------------------------------------------------------------------------------
// The raw side, written by hand per driver.

type Grant = { accessToken: string; refreshToken: string; scopes: string[]; expiresAt: Date };
interface RawSide {
  sessionGet(sid: string): unknown;
  profileGet(userId: string): unknown;
  profileUpsert(userId: string, bio: string): unknown;
  grantGet(userId: string, provider: string): unknown;
  grantSave(userId: string, provider: string, grant: Grant): unknown;
  grantList(userId: string): unknown;
  sessionsInsert(rows: { sid: string; sess: object; expire: Date }[]): unknown;
  bare?: Pick<RawSide, 'sessionGet' | 'profileGet' | 'grantList'>;
  close(): Promise<void> | void;
}

function rawSqlite(file: string, crypto: Fixture['crypto']): RawSide {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const date = (v: number | null) => (v === null ? null : new Date(v));
  const sessionGet = db.prepare('select sess from sessions where sid = ? and expire > ?');
  const profileGet = db.prepare(
    `select ${select(PROFILE_COLUMNS)} from user_profiles where user_id = ?`,
  );
  const profileUpsert = db.prepare(
    `insert into user_profiles (id, user_id, preferences, bio) values (?, ?, '{}', ?)
     on conflict (user_id) do update set bio = excluded.bio, updated_at = ?
     returning ${select(PROFILE_COLUMNS)}`,
  );
  const grantInfo = `${select(GRANT_COLUMNS)}, refresh_token is not null as "hasRefreshToken"`;
  const grantGet = db.prepare(
    `select ${grantInfo}, access_token as "accessToken", refresh_token as "refreshToken"
     from oauth_tokens where user_id = ? and provider = ? and revoked_at is null`,
  );
  const grantSave = db.prepare(
    `insert into oauth_tokens (id, user_id, provider, access_token, refresh_token, token_type, scopes, expires_at, created_at, updated_at)
     values (?, ?, ?, ?, ?, 'Bearer', ?, ?, ?, ?)
     on conflict (user_id, provider) do update set access_token = excluded.access_token,
       refresh_token = excluded.refresh_token, scopes = excluded.scopes, expires_at = excluded.expires_at,
       revoked_at = null, updated_at = excluded.updated_at
     returning ${grantInfo}`,
  );
  const grantList = db.prepare(
    `select ${grantInfo} from oauth_tokens where user_id = ? order by provider`,
  );
  const insertSessions = db.prepare(
    `insert into sessions (sid, sess, expire) values ${Array(BULK_ROWS).fill('(?, ?, ?)').join(', ')}`,
  );
  const profile = (r: Record<string, any> | undefined) =>
    r
      ? {
          ...r,
          preferences: JSON.parse(r.preferences),
          createdAt: date(r.createdAt),
          updatedAt: date(r.updatedAt),
        }
      : null;
  const grantRow = (r: Record<string, any>) => ({
    ...r,
    scopes: JSON.parse(r.scopes),
    expiresAt: date(r.expiresAt),
    revokedAt: date(r.revokedAt),
    createdAt: date(r.createdAt),
    updatedAt: date(r.updatedAt),
    hasRefreshToken: r.hasRefreshToken === 1,
  });
  const ctx = (column: string, userId: string, provider: string) => ({
    table: 'oauth_tokens',
    column,
    rowId: bound(userId, provider),
  });
  const insertAll = db.transaction((values: unknown[]) => insertSessions.run(...values).changes);
  return {
    sessionGet(sid) {
      const row = sessionGet.get(sid, Date.now()) as { sess: string } | undefined;
      return row ? JSON.parse(row.sess) : null;
    },
    profileGet: (userId) => profile(profileGet.get(userId) as never),
    profileUpsert: (userId, bio) =>
      profile(profileUpsert.get(randomUUID(), userId, bio, Date.now()) as never),
    grantGet(userId, provider) {
      const r = grantGet.get(userId, provider) as Record<string, any> | undefined;
      if (!r) return null;
      return {
        ...grantRow(r),
        accessToken: crypto.cipher.decrypt(r.accessToken, ctx('access_token', userId, provider)),
        refreshToken:
          r.refreshToken === null
            ? null
            : crypto.cipher.decrypt(r.refreshToken, ctx('refresh_token', userId, provider)),
      };
    },
    grantSave(userId, provider, g) {
      const now = Date.now();
      return grantRow(
        grantSave.get(
          randomUUID(),
          userId,
          provider,
          crypto.cipher.encrypt(g.accessToken, ctx('access_token', userId, provider)),
          crypto.cipher.encrypt(g.refreshToken, ctx('refresh_token', userId, provider)),
          JSON.stringify(g.scopes),
          g.expiresAt.getTime(),
          now,
          now,
        ) as never,
      );
    },
    grantList: (userId) => (grantList.all(userId) as Record<string, any>[]).map(grantRow),
    sessionsInsert(rows) {
      const values: unknown[] = [];
      for (const r of rows) values.push(r.sid, JSON.stringify(r.sess), r.expire.getTime());
      return insertAll(values);
    },
    close: () => void db.close(),
  };
}

function rawPostgres(url: string, crypto: Fixture['crypto']): RawSide {
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  /** BEGIN, the actor's settings, the query and COMMIT, pipelined on one connection. */
  async function asActor<T>(
    user: string | null,
    readOnly: boolean,
    query: (c: postgres.ReservedSql) => postgres.PendingQuery<any>,
  ): Promise<T> {
    const c = await sql.reserve();
    try {
      const [, , rows] = await Promise.all([
        c.unsafe(readOnly ? 'begin read only' : 'begin').execute(),
        c`select exora_set_actor(${user}, ${null}, ${user === null})`.execute(),
        query(c).execute(),
        c`commit`.execute(),
      ]);
      return rows as T;
    } catch (error) {
      await c`rollback`.catch(() => {});
      throw error;
    } finally {
      c.release();
    }
  }
  const ctx = (column: string, userId: string, provider: string) => ({
    table: 'oauth_tokens',
    column,
    rowId: bound(userId, provider),
  });
  const grantInfo = `${select(GRANT_COLUMNS)}, refresh_token is not null as "hasRefreshToken"`;
  const profileSql = `select ${select(PROFILE_COLUMNS)} from user_profiles where user_id = $1`;
  const listSql = `select ${grantInfo} from oauth_tokens where user_id = $1 order by provider`;
  const sessionSql = 'select sess from sessions where sid = $1 and expire > $2';
  const first = (rows: any[]) => rows[0] ?? null;
  return {
    sessionGet: async (sid) =>
      first(
        await asActor<any[]>(null, true, (c) =>
          c.unsafe(sessionSql, [sid, new Date()], { prepare: true }),
        ),
      )?.sess ?? null,
    profileGet: async (userId) =>
      first(
        await asActor<any[]>(userId, true, (c) =>
          c.unsafe(profileSql, [userId], { prepare: true }),
        ),
      ),
    profileUpsert: async (userId, bio) =>
      first(
        await asActor<any[]>(userId, false, (c) =>
          c.unsafe(
            `insert into user_profiles (user_id, bio) values ($1, $2)
             on conflict (user_id) do update set bio = excluded.bio, updated_at = now()
             returning ${select(PROFILE_COLUMNS)}`,
            [userId, bio],
            { prepare: true },
          ),
        ),
      ),
    async grantGet(userId, provider) {
      const r = first(
        await asActor<any[]>(userId, true, (c) =>
          c.unsafe(
            `select ${grantInfo}, access_token as "accessToken", refresh_token as "refreshToken"
             from oauth_tokens where user_id = $1 and provider = $2 and revoked_at is null`,
            [userId, provider],
            { prepare: true },
          ),
        ),
      );
      if (!r) return null;
      return {
        ...r,
        accessToken: crypto.cipher.decrypt(r.accessToken, ctx('access_token', userId, provider)),
        refreshToken:
          r.refreshToken === null
            ? null
            : crypto.cipher.decrypt(r.refreshToken, ctx('refresh_token', userId, provider)),
      };
    },
    async grantSave(userId, provider, g) {
      const now = new Date();
      return first(
        await asActor<any[]>(userId, false, (c) =>
          c.unsafe(
            `insert into oauth_tokens (user_id, provider, access_token, refresh_token, scopes, expires_at, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $7)
             on conflict (user_id, provider) do update set access_token = excluded.access_token,
               refresh_token = excluded.refresh_token, scopes = excluded.scopes,
               expires_at = excluded.expires_at, revoked_at = null, updated_at = excluded.updated_at
             returning ${grantInfo}`,
            [
              userId,
              provider,
              crypto.cipher.encrypt(g.accessToken, ctx('access_token', userId, provider)),
              crypto.cipher.encrypt(g.refreshToken, ctx('refresh_token', userId, provider)),
              g.scopes as never,
              g.expiresAt,
              now,
            ],
            { prepare: true },
          ),
        ),
      );
    },
    grantList: async (userId) =>
      Array.from(
        await asActor<any[]>(userId, true, (c) => c.unsafe(listSql, [userId], { prepare: true })),
      ),
    async sessionsInsert(rows) {
      const values = rows.map((r) => ({
        sid: r.sid,
        sess: JSON.stringify(r.sess),
        expire: r.expire,
      }));
      const result = await asActor<{ count: number }>(
        null,
        false,
        (c) => c`insert into sessions ${c(values, 'sid', 'sess', 'expire')}`,
      );
      return result.count;
    },
    bare: {
      sessionGet: async (sid) =>
        first(await sql.unsafe(sessionSql, [sid, new Date()], { prepare: true }))?.sess ?? null,
      profileGet: async (userId) =>
        first(await sql.unsafe(profileSql, [userId], { prepare: true })),
      grantList: async (userId) =>
        Array.from(await sql.unsafe(listSql, [userId], { prepare: true })),
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

// ---------------------------------------------------------------------------------------------

async function benchSqlite(): Promise<Result[]> {
  const dir = mkdtempSync(join(tmpdir(), 'exora-bench-'));
  const file = join(dir, 'bench.db');
  console.log(
    `SQLite: a new file ${file} (WAL), ${iterationsOf('sqlite')} calls per round, ${ROUNDS} rounds`,
  );
  try {
    const owner = connect(file, { schema: [schema] });
    await push(owner, defaultMigrationsDir(), await loadSource());
    await owner.close();
    const crypto = createTestCrypto();
    const db = createDb({ url: file, crypto, env: {} });
    const raw = rawSqlite(file, crypto);
    try {
      const f = await seed(db, crypto);
      const results: Result[] = [];
      for (const op of operations(f, raw, 'sqlite')) results.push(await measure('sqlite', op));
      return results;
    } finally {
      await raw.close();
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const adminUrl = process.env.BENCH_DATABASE_URL || DEFAULT_ADMIN_URL;

/** Where the run will write, printed before anything is created. */
function targets(): string {
  const lines = ['pnpm bench will use:'];
  if (DIALECTS.includes('sqlite'))
    lines.push('  SQLite: a new file in a temporary folder, removed at the end');
  if (DIALECTS.includes('postgres')) {
    const u = new URL(adminUrl);
    lines.push(
      `  Postgres: the server at ${u.hostname}:${u.port || 5432} as ${decodeURIComponent(u.username) || '(PGUSER)'}` +
        ` (${process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL' : `BENCH_DATABASE_URL is not set: the default ${DEFAULT_ADMIN_URL}`}):` +
        ` creates a database exora_bench_<time> and drops it at the end`,
    );
  }
  return lines.join('\n');
}

async function benchPostgres(): Promise<Result[]> {
  const name = `exora_bench_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const target = new URL(adminUrl);
  console.log(
    `Postgres: creating database ${name} on ${target.hostname}:${target.port || 5432} (dropped at the end), calls as role ${APP_ROLE} with row-level security, ${iterationsOf('postgres')} calls per round, ${ROUNDS} rounds`,
  );
  await admin.unsafe(`create database ${name}`);
  try {
    target.pathname = `/${name}`;
    await pushWithAppRole(target.toString(), APP_ROLE);
    const app = asRole(target, APP_ROLE);
    const crypto = createTestCrypto();
    const db = createDb({ url: app, crypto, env: { DATABASE_POOL_MAX: '4' } });
    const raw = rawPostgres(app, crypto);
    try {
      const f = await seed(db, crypto);
      const results: Result[] = [];
      for (const op of operations(f, raw, 'postgres')) results.push(await measure('postgres', op));
      return results;
    } finally {
      await raw.close();
      await db.close();
    }
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

function report(results: Result[]): string {
  const lines = [
    '# Benchmark: repository calls against the raw driver',
    '',
    `Written by \`pnpm bench\` (apps/bench/src/operations.ts) on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${DIALECTS.map((d) => `${d}: ${iterationsOf(d)} calls per round (bulk: ${bulkIterations(iterationsOf(d))} inserts of ${BULK_ROWS} rows)`).join('; ')}, ${ROUNDS} interleaved rounds; load average ${loadavg()[0]!.toFixed(1)} when written (other work on the machine widens the ranges). The ratio is the median of per-round ratios (ours / raw, operations per second); the range is the lowest and highest round.`,
    '',
    'Raw = hand-written driver code doing the same work: same rows, same shape, secrets decrypted; on Postgres as the same application role, so it too opens a transaction and sets the actor (BEGIN, `exora_set_actor`, query, COMMIT pipelined). "Bare query" is the Postgres query alone, without the transaction and settings row-level security needs.',
    '',
  ];
  lines.push(
    ...markdownTable(
      [
        'dialect',
        'operation',
        'raw ops/s',
        '@exora/db ops/s',
        'ratio',
        'range',
        'bare query ops/s',
      ],
      [false, false, true, true, true, false, true],
      results.map((r) => [
        r.dialect,
        r.name,
        String(Math.round(r.raw)),
        String(Math.round(r.ours)),
        `${r.ratio.toFixed(2)}x`,
        `${r.low.toFixed(2)}-${r.high.toFixed(2)}`,
        r.bare ? String(Math.round(r.bare)) : '',
      ]),
    ),
  );
  return `${lines.join('\n')}\n`;
}

console.log(targets());
try {
  const results: Result[] = [];
  if (DIALECTS.includes('sqlite')) results.push(...(await benchSqlite()));
  if (DIALECTS.includes('postgres')) results.push(...(await benchPostgres()));
  const out =
    process.env.BENCH_OUTPUT ?? join(defaultMigrationsDir(), '..', 'docs', 'bench-results.md');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, report(results));
  console.log(`\nWritten to ${out}`);
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  if (process.env.DEBUG) console.error(error);
  process.exitCode = 1;
}
