/**
 * Throughput of one insert and one primary-key lookup through the @exora/core engine (a
 * statement run for an actor: on Postgres BEGIN, the actor's settings, the statement and COMMIT
 * in one round trip) against the raw driver, on both dialects, in the same run. On Postgres the
 * raw driver is measured twice: the bare statement, and the same work the engine does (actor
 * settings in a transaction) hand-written as one pipelined round trip.
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
  actorFunctionSql,
  connect,
  createdAt,
  createStatements,
  type Database,
  id,
  integer,
  kitTables,
  schemaInfo,
  serviceActor,
  statement,
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
  console.log(`  ${label.padEnd(36)} ${Math.round(best).toString().padStart(8)} ops/s`);
  return best;
}

async function createSchema(db: Database) {
  const statements = await createStatements(db.dialect, schema);
  if (db.dialect === 'postgres') {
    statements.push(...actorFunctionSql(schemaInfo(kitTables(schema))).create);
  }
  for (const s of statements) await db.execute(sql.raw(s));
}

const insertRow = statement.count(
  'bench.insert',
  benchRows,
  ['id', 'name', 'value'],
  ({ db, t, $ }) => db.insert(t).values({ id: $.id, name: $.name, value: $.value }),
);
const rowById = statement.maybe('bench.byId', benchRows, ['id'], ({ db, t, $ }) =>
  db.select().from(t).where(eq(t.id, $.id)).limit(1),
);
const call = { actor: serviceActor('benchmark'), crypto: undefined };

function coreStatements(db: Database) {
  return {
    insert: {
      execute: (p: { id: string; name: string; value: number }) => db.run(call, insertRow, p),
    },
    byId: { execute: (p: { id: string | undefined }) => db.run(call, rowById, { id: p.id }) },
  };
}

async function sqliteBench() {
  console.log(`SQLite (better-sqlite3, WAL file), ${N} iterations, best of ${ROUNDS}:`);
  const dir = mkdtempSync(join(tmpdir(), 'exora-bench-'));
  const db = connect(join(dir, 'core.db'), { schema: [schema] });
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
    const db = connect(u.toString(), { env: { DATABASE_POOL_MAX: '1' }, schema: [schema] });
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
    // The same work by hand: BEGIN, the actor's settings, the lookup, COMMIT, pipelined.
    const rawActorSel = await time('pk lookup, raw, same work', async (i) => {
      const c = await raw.reserve();
      try {
        await Promise.all([
          c`begin read only`.execute(),
          c`select exora_set_actor(${null}, ${null}, ${true})`.execute(),
          c`select id, name, value, created_at from bench_rows where id = ${rawIds[i % rawIds.length]!} limit 1`.execute(),
          c`commit`.execute(),
        ]);
      } finally {
        c.release();
      }
    });
    console.log(
      `  ratio insert ${(coreIns / rawIns).toFixed(2)}x, lookup ${(coreSel / rawSel).toFixed(2)}x vs the bare statement, ${(coreSel / rawActorSel).toFixed(2)}x vs the same work by hand`,
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
