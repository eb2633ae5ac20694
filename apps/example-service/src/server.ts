/**
 * `pnpm --filter @exora/example-service start`: the example service on the embedded SQLite
 * default (`data/exora.db` at the workspace root, pushed by the start script), or wherever
 * `DATABASE_URL` points (push it first: `pnpm db:push`). Reads `.env` at the workspace root
 * when there is one; on a development machine without keys it writes new ones there first
 * (what they encrypt cannot be read without them: keep that file).
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@exora/core';
import { createDb } from '@exora/db';
import { buildApp } from './app.ts';

const envFile = join(workspaceRoot(), '.env');
if (existsSync(envFile)) process.loadEnvFile(envFile);

if (process.env.NODE_ENV !== 'production') {
  const missing: string[] = [];
  if (!process.env.EXORA_ENCRYPTION_KEYS) {
    missing.push(`EXORA_ENCRYPTION_KEYS=k1:${randomBytes(32).toString('base64')}`);
  }
  if (!process.env.EXORA_BLIND_INDEX_KEY) {
    missing.push(`EXORA_BLIND_INDEX_KEY=${randomBytes(32).toString('base64')}`);
  }
  if (!process.env.SESSION_SECRET) {
    missing.push(`SESSION_SECRET=${randomBytes(32).toString('base64url')}`);
  }
  if (missing.length > 0) {
    appendFileSync(envFile, `${missing.join('\n')}\n`, { mode: 0o600 });
    process.loadEnvFile(envFile);
    console.log(`wrote development keys to ${envFile} (keep it: it decrypts what they encrypt)`);
  }
}

const sessionSecret = process.env.SESSION_SECRET ?? '';
if (sessionSecret.length < 32) throw new Error('SESSION_SECRET must be at least 32 characters');

const db = createDb();
await db.ready();
const app = await buildApp(db, { sessionSecret });
const port = Number(process.env.PORT ?? 3000);
const address = await app.listen({ port, host: process.env.HOST ?? '127.0.0.1' });
console.log(`example service on ${address} (${db.dialect})`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app
      .close()
      .then(() => db.close())
      .finally(() => process.exit(0));
  });
}
