import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  connect,
  defaultSqlitePath,
  isPostgresUrl,
  poolOptionsFromEnv,
  redactUrl,
  resolveDatabaseUrl,
  sqliteFilename,
  workspaceRoot,
} from '../src/index.ts';

describe('connect', () => {
  it('reads the database URL from the environment, with PG* and the SQLite default', () => {
    expect(resolveDatabaseUrl({ DATABASE_URL: 'postgres://a@b/c' })).toBe('postgres://a@b/c');
    expect(resolveDatabaseUrl({ PGHOST: '127.0.0.1', PGDATABASE: 'exora-web' })).toBe(
      'postgres://',
    );
    expect(resolveDatabaseUrl({})).toMatch(/data\/exora\.db$/);
  });

  it('parses SQLite locations', () => {
    expect(sqliteFilename(':memory:')).toBe(':memory:');
    expect(sqliteFilename('file:///tmp/x.db')).toBe('/tmp/x.db');
    expect(sqliteFilename('file:/tmp/y.db')).toBe('/tmp/y.db');
    expect(sqliteFilename('/tmp/z.db')).toBe('/tmp/z.db');
  });

  it('takes a relative SQLite path from the workspace root, wherever the process starts', async () => {
    const { mkdirSync, mkdtempSync, realpathSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const root = realpathSync(mkdtempSync(join(tmpdir(), 'exora-ws-')));
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - apps/*\n');
    const service = join(root, 'apps', 'svc', 'src');
    mkdirSync(service, { recursive: true });
    for (const cwd of [root, join(root, 'apps'), service]) {
      expect(workspaceRoot(cwd)).toBe(root);
      expect(sqliteFilename('data/exora.db', cwd)).toBe(join(root, 'data', 'exora.db'));
      expect(sqliteFilename('file:./data/exora.db', cwd)).toBe(join(root, 'data', 'exora.db'));
      expect(defaultSqlitePath(cwd)).toBe(join(root, 'data', 'exora.db'));
    }
    expect(sqliteFilename('/abs/x.db', service)).toBe('/abs/x.db');
    // Outside a pnpm workspace (an installed package in a plain project): the working directory.
    const plain = realpathSync(mkdtempSync(join(tmpdir(), 'exora-plain-')));
    expect(workspaceRoot(plain)).toBe(plain);
    expect(sqliteFilename('data/exora.db', plain)).toBe(join(plain, 'data', 'exora.db'));
  });

  it('never creates a missing SQLite directory: it names it instead', async () => {
    const { existsSync, mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'exora-connect-'));
    const missing = join(dir, 'no-such-dir');
    let error: unknown;
    try {
      connect(join(missing, 'app.db'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(`its directory ${missing} does not exist`);
    expect((error as Error).message).not.toContain('\n');
    expect(existsSync(missing)).toBe(false);
    // A file that is not a database: a configuration error naming it, not the driver's error.
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, just some text that is long enough'.repeat(20));
    expect(() => connect(junk)).toThrow(ConfigurationError);
    expect(() => connect(junk)).toThrow(`Cannot open the SQLite database ${junk} (SQLITE_NOTADB)`);
  });

  it('reads pool settings and rejects bad ones with the variable named', () => {
    expect(
      poolOptionsFromEnv({ DATABASE_POOL_MAX: '3', DATABASE_IDLE_TIMEOUT: '5' }),
    ).toMatchObject({
      max: 3,
      idleTimeoutSeconds: 5,
      connectTimeoutSeconds: 10,
    });
    expect(() => poolOptionsFromEnv({ DATABASE_POOL_MAX: 'lots' })).toThrow(/DATABASE_POOL_MAX/);
    expect(() => poolOptionsFromEnv({ DATABASE_POOL_MAX: '0' })).toThrow(ConfigurationError);
  });

  it('reads the pooler from the URL (removed before connecting) or DATABASE_POOLER', async () => {
    expect(poolOptionsFromEnv({}).pooler).toBe('none');
    expect(poolOptionsFromEnv({ DATABASE_POOLER: 'transaction' }).pooler).toBe('transaction');
    expect(poolOptionsFromEnv({ DATABASE_POOLER: 'Session' }).pooler).toBe('session');
    expect(() => poolOptionsFromEnv({ DATABASE_POOLER: 'pgbouncer' })).toThrow(
      'DATABASE_POOLER must be transaction, session or none, got "pgbouncer"',
    );
    // A statement-mode pooler refuses the transaction every call runs in: said at start-up.
    expect(() => poolOptionsFromEnv({ DATABASE_POOLER: 'statement' })).toThrow(
      /statement-mode pooler refuses transactions/,
    );
    const db = connect('postgres://app:pw@db:6432/x?sslmode=disable&pooler=transaction&a=b', {
      env: {},
    });
    expect(db.safeUrl).toBe('postgres://app:***@db:6432/x?sslmode=disable&a=b');
    await db.close();
    const only = connect('postgres://app@db/x?pooler=transaction', { env: {} });
    expect(only.safeUrl).toBe('postgres://app@db/x');
    await only.close();
    expect(() => connect('postgres://app@db/x?pooler=yes', { env: {} })).toThrow(
      ConfigurationError,
    );
  });

  it('never prints a password', () => {
    expect(redactUrl('postgres://app:s3cret-pw@db:5432/x')).toBe('postgres://app:***@db:5432/x');
    expect(redactUrl('postgresql://app@db/x')).toBe('postgresql://app@db/x');
    expect(isPostgresUrl('postgresql://x')).toBe(true);
    expect(() => connect('mysql://root:pw@localhost/x')).toThrow(/Unsupported/);
    try {
      connect('mysql://root:hunter22@localhost/x');
    } catch (e) {
      expect(String(e)).not.toContain('hunter22');
    }
  });

  it('opens SQLite with foreign keys on, WAL for files, and waits for locks on a timer, not in SQLite', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { sql } = await import('drizzle-orm');
    const dir = mkdtempSync(join(tmpdir(), 'exora-connect-'));
    const db = connect(join(dir, 'nested', 'app.db'), { sqlite: { createDirectory: true } });
    const [fk] = await db.execute<{ foreign_keys: number }>(sql`pragma foreign_keys`);
    const [wal] = await db.execute<{ journal_mode: string }>(sql`pragma journal_mode`);
    const [busy] = await db.execute<{ timeout: number }>(sql`pragma busy_timeout`);
    expect(fk?.foreign_keys).toBe(1);
    expect(wal?.journal_mode).toBe('wal');
    // busy_timeout would block the event loop: the gate retries on a timer instead.
    expect(busy?.timeout).toBe(0);
    await db.close();
  });
});
