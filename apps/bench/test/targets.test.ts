/**
 * `pnpm bench` says which database it will use before it creates anything: here a Postgres URL
 * where nothing listens, so the run must name it first and then fail with one line, having
 * written nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

it('prints the target database before creating anything, then fails in one line', async () => {
  const port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'exora-bench-test-'));
  const output = join(dir, 'results.md');
  try {
    const child = spawn(join(APP_DIR, 'node_modules', '.bin', 'tsx'), ['src/operations.ts'], {
      cwd: APP_DIR,
      env: {
        ...process.env,
        BENCH_DIALECTS: 'postgres',
        BENCH_DATABASE_URL: `postgres://bench_user:secret-pw@127.0.0.1:${port}/postgres`,
        BENCH_OUTPUT: output,
        DEBUG: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise((r) => child.on('close', r));
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('pnpm bench will use:');
    expect(lines[1]).toBe(
      `  Postgres: the server at 127.0.0.1:${port} as bench_user (BENCH_DATABASE_URL): creates a database exora_bench_<time> and drops it at the end`,
    );
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^error: .*ECONNREFUSED/);
    expect(`${stdout}${stderr}`).not.toContain('secret-pw');
    expect(existsSync(output)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
