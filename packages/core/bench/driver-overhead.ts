/**
 * Throughput of one prepared insert and one primary-key lookup through @exora/core against the
 * raw driver, on both dialects, in the same run.
 *
 *   pnpm --filter @exora/core bench            (Postgres: BENCH_DATABASE_URL, default local 5432)
 *   BENCH_ITERATIONS=20000 pnpm --filter @exora/core bench
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import {
  connect,
  createdAt,
  createStatements,
  type Database,
  id,
  integer,
  table,
  text,
} from '../src/index.ts';

const benchRows = table('bench_rows', {
  id: id(),
  name: text().notNull(),
  value: integer().notNull(),
  createdAt: createdAt(),
});
const schema = { benchRows };

const N = Number(process.env.BENCH_ITERATIONS ?? 5000);
const ROUNDS = 3;

async function time(label: string, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(500, N); i++) await fn(i); // warm-up
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await fn(i);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    best = Math.max(best, N / secs);
  }
  console.log(`  ${label.padEnd(34)} ${Math.round(best).toString().padStart(8)} ops/s`);
  return best;
}

async function createSchema(db: Database) {
  for (const s of await createStatements(db.dialect, schema)) await db.execute(sql.raw(s));
}

function coreStatements(db: Database) {
  const t = db.table(benchRows);
  const insert = db.prepared('bench.insert', (d) =>
    d
      .insert(t)
      .values({
        id: sql.placeholder('id'),
        name: sql.placeholder('name'),
        value: sql.placeholder('value'),
      })
      .prepare('bench_insert'),
  );
  const byId = db.prepared('bench.byId', (d) =>
    d
      .select()
      .from(t)
      .where(eq(t.id, sql.placeholder('id')))
      .limit(1)
      .prepare('bench_by_id'),
  );
  return { insert, byId };
}

async function sqliteBench() {
  console.log(`SQLite (better-sqlite3, WAL file), ${N} iterations, best of ${ROUNDS}:`);
  const dir = mkdtempSync(join(tmpdir(), 'exora-bench-'));
  const db = connect(join(dir, 'core.db'));
  await createSchema(db);
  const raw = new BetterSqlite3(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  for (const s of await createStatements('sqlite', schema)) raw.exec(s);

  const rawIds: string[] = [];
  const coreIds: string[] = [];
  const rawInsert = raw.prepare('insert into bench_rows (id, name, value) values (?, ?, ?)');
  const rawGet = raw.prepare(
    'select id, name, value, created_at from bench_rows where id = ? limit 1',
  );
  const rawIns = await time('insert, raw better-sqlite3', (i) => {
    const id = randomUUID();
    rawIds.push(id);
    rawInsert.run(id, `row ${i}`, i);
  });
  const { insert, byId } = coreStatements(db);
  const coreIns = await time('insert, @exora/core prepared', (i) => {
    const id = randomUUID();
    coreIds.push(id);
    return insert.execute({ id, name: `row ${i}`, value: i });
  });
  const rawSel = await time('pk lookup, raw better-sqlite3', (i) =>
    rawGet.get(rawIds[i % rawIds.length]),
  );
  const coreSel = await time('pk lookup, @exora/core prepared', (i) =>
    byId.execute({ id: coreIds[i % coreIds.length] }),
  );
  console.log(
    `  ratio insert ${(coreIns / rawIns).toFixed(2)}x, lookup ${(coreSel / rawSel).toFixed(2)}x`,
  );
  await db.close();
  raw.close();
  rmSync(dir, { recursive: true, force: true });
}

async function postgresBench() {
  const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  console.log(`Postgres (postgres.js, one connection), ${N} iterations, best of ${ROUNDS}:`);
  const name = `exora_bench_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  try {
    const db = connect(u.toString(), { env: { DATABASE_POOL_MAX: '1' } });
    await createSchema(db);
    const raw = postgres(u.toString(), { max: 1, onnotice: () => {} });
    const rawIds: string[] = [];
    const coreIds: string[] = [];
    const rawIns = await time('insert, raw postgres.js', (i) => {
      const id = randomUUID();
      rawIds.push(id);
      return raw`insert into bench_rows (id, name, value) values (${id}, ${`row ${i}`}, ${i})`;
    });
    const { insert, byId } = coreStatements(db);
    const coreIns = await time('insert, @exora/core prepared', (i) => {
      const id = randomUUID();
      coreIds.push(id);
      return insert.execute({ id, name: `row ${i}`, value: i });
    });
    const rawSel = await time(
      'pk lookup, raw postgres.js',
      (i) =>
        raw`select id, name, value, created_at from bench_rows where id = ${rawIds[i % rawIds.length]!} limit 1`,
    );
    const coreSel = await time('pk lookup, @exora/core prepared', (i) =>
      byId.execute({ id: coreIds[i % coreIds.length] }),
    );
    console.log(
      `  ratio insert ${(coreIns / rawIns).toFixed(2)}x, lookup ${(coreSel / rawSel).toFixed(2)}x`,
    );
    await db.close();
    await raw.end();
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

await sqliteBench();
await postgresBench();
