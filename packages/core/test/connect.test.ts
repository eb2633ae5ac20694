import { describe, expect, it } from 'vitest';
import { sqliteFilename } from '../src/connect.ts';
import {
  ConfigurationError,
  connect,
  isPostgresUrl,
  poolOptionsFromEnv,
  redactUrl,
  resolveDatabaseUrl,
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
    const db = connect(join(dir, 'nested', 'app.db'));
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
