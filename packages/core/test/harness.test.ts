import { describe, expect, it } from 'vitest';
import { providePostgres } from '../testing/index.ts';

describe('test harness: Postgres is never skipped', () => {
  it('fails, saying how to provide one, when no Postgres can be had', async () => {
    const noServer = providePostgres(
      { TEST_POSTGRES_THROWAWAY: '1', PATH: '/nonexistent', TEST_PG_BIN_DIR: '/nonexistent' },
      { libRoot: '/nonexistent' },
    );
    await expect(noServer).rejects.toThrow(/needs a server, and none could be had/);
    await expect(noServer).rejects.toThrow(/TEST_DATABASE_URL=postgres:/);
    await expect(noServer).rejects.toThrow(/apt-get install postgresql/);
  });

  it('fails when TEST_DATABASE_URL is set but does not answer, without printing its password', async () => {
    const error = await providePostgres({
      TEST_DATABASE_URL: 'postgres://u:sekrit99@127.0.0.1:1/x',
    }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/does not answer/);
    expect(String(error)).not.toContain('sekrit99');
  });

  it('starts a throwaway server from the installed binaries when told to', async () => {
    const server = await providePostgres({
      ...process.env,
      TEST_POSTGRES_THROWAWAY: '1',
      TEST_DATABASE_URL: '',
    });
    try {
      expect(server.source).toBe('throwaway');
      const { canConnect } = await import('../testing/index.ts');
      expect(await canConnect(server.adminUrl)).toBe(true);
    } finally {
      await server.stop();
    }
  });
});
