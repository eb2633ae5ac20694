/**
 * `pnpm --filter @exora/migrations bench:copy`: db:copy of 1,000,000 rows from SQLite to
 * Postgres, against a plain `COPY ... FROM STDIN` of the same rows.
 *
 * The SQLite file (a temporary one) gets one organization, one user, 1,000 recorded workflows,
 * 599,000 steps (JSON selectors, element metadata and page context, booleans, timestamps) and
 * 399,998 health logs: 1,000,000 rows. db:copy then copies them to a new Postgres database
 * (reading, converting, writing with COPY, reading everything back for the checksums, in one
 * transaction). The baseline exports each table from that database with `COPY ... TO STDOUT`
 * and times `COPY ... FROM STDIN` of those bytes into another empty database: the cost of the
 * writes alone, with nothing read from SQLite, converted or verified.
 *
 * BENCH_DATABASE_URL picks the server (default postgres://postgres@127.0.0.1:5432/postgres; a
 * role that may create databases); it creates two databases `exora_copybench_*` there and drops
 * them at the end. BENCH_COPY_ROWS changes the row count (default 1000000).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect } from '@exora/core';
import BetterSqlite3 from 'better-sqlite3';
import postgres from 'postgres';
import { copyDatabase, copyPlan } from '../src/copy.ts';
import { defaultMigrationsDir } from '../src/files.ts';
import { push } from '../src/push.ts';
import { loadSource } from '../src/source.ts';

const ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TOTAL = Number(process.env.BENCH_COPY_ROWS ?? 1_000_000);
const WORKFLOWS = 1000;

const url = (database: string) => {
  const u = new URL(ADMIN);
  u.pathname = `/${database}`;
  return u.toString();
};

async function main() {
  const stamp = Date.now();
  const databases = [`exora_copybench_${stamp}`, `exora_copybench_${stamp}_plain`];
  console.log(
    `bench:copy: ${TOTAL} rows SQLite -> Postgres at ${new URL(ADMIN).host}; creates databases ${databases.join(', ')} and drops them at the end`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'exora-copybench-'));
  const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
  const source = await loadSource();
  try {
    // The SQLite MVP file.
    const file = join(dir, 'mvp.db');
    const owner = connect(file);
    await push(owner, defaultMigrationsDir(), source);
    await owner.close();
    const fillStarted = performance.now();
    const sqlite = new BetterSqlite3(file);
    const organization = randomUUID();
    const user = randomUUID();
    const steps = Math.round((TOTAL - 2 - WORKFLOWS) * 0.6);
    const logs = TOTAL - 2 - WORKFLOWS - steps;
    sqlite.transaction(() => {
      sqlite
        .prepare(`insert into organizations (id, name, invite_token_hash) values (?, 'Bench', ?)`)
        .run(organization, randomUUID());
      sqlite
        .prepare(`insert into users (id, organization_id, email, role) values (?, ?, ?, 'admin')`)
        .run(user, organization, 'bench@example.test');
      const workflow = sqlite.prepare(
        `insert into workflows (id, organization_id, created_by, name, status, tags, total_runs, success_rate, created_at, updated_at) values (?, ?, ?, ?, 'active', ?, 3, 0.6666666666666666, ?, ?)`,
      );
      const ids: string[] = [];
      const t0 = Date.UTC(2026, 0, 1);
      for (let w = 0; w < WORKFLOWS; w++) {
        const id = randomUUID();
        ids.push(id);
        workflow.run(
          id,
          organization,
          user,
          `Workflow ${w}`,
          '["billing","daily"]',
          t0 + w,
          t0 + w,
        );
      }
      const step = sqlite.prepare(
        `insert into steps (id, organization_id, workflow_id, step_number, action_type, selectors, element_meta, page_context, action_data, field_label, label_edited, recorded_at, created_at, updated_at) values (?, ?, ?, ?, 'click', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (let s = 0; s < steps; s++) {
        const at = t0 + s * 17;
        step.run(
          randomUUID(),
          organization,
          ids[s % WORKFLOWS],
          Math.floor(s / WORKFLOWS) + 1,
          `{"css":"#form > button:nth-child(${s % 9})","xpath":"//button[${s % 9}]"}`,
          `{"tag":"button","text":"Save ${s}","visible":true}`,
          `{"url":"https://app.example.test/p/${s % 50}","title":"Page"}`,
          s % 3 === 0 ? `{"value":"typed ${s}"}` : null,
          `Step ${s}`,
          s % 5 === 0 ? 1 : 0,
          at,
          at,
          at,
        );
      }
      const log = sqlite.prepare(
        `insert into health_logs (id, organization_id, workflow_id, status, error_type, execution_time_ms, created_at) values (?, ?, ?, ?, ?, ?, ?)`,
      );
      for (let l = 0; l < logs; l++) {
        const failed = l % 4 === 0;
        log.run(
          randomUUID(),
          organization,
          ids[l % WORKFLOWS],
          failed ? 'failure' : 'success',
          failed ? 'timeout' : null,
          500 + (l % 3000),
          t0 + l * 31,
        );
      }
    })();
    sqlite.close();
    console.log(
      `filled SQLite with ${TOTAL} rows in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`,
    );

    // db:copy into a pushed Postgres database.
    for (const d of databases) await admin.unsafe(`create database ${d}`);
    for (const d of databases) {
      const db = connect(url(d));
      await push(db, defaultMigrationsDir(), source);
      await db.close();
    }
    const result = await copyDatabase({
      from: file,
      to: url(databases[0] as string),
      dir: defaultMigrationsDir(),
      source,
    });
    const copyRate = result.rows / (result.ms / 1000);

    // The baseline: plain COPY FROM STDIN of the same rows, exported by Postgres itself.
    const into = postgres(url(databases[1] as string), { max: 1, onnotice: () => {} });
    const plan = copyPlan(source.tables);
    const exported: { table: string; chunks: Buffer[] }[] = [];
    const counts = new Map(result.tables.map((t) => [t.table, t.rows]));
    for (const t of plan) {
      // Only tables with rows (postgres.js 3.4.9 can miss the end of an empty COPY TO stream).
      if (!counts.get(t.name)) continue;
      const chunks: Buffer[] = [];
      // A connection per table: a second COPY TO on one postgres.js 3.4.9 connection can hang.
      const from = postgres(url(databases[0] as string), { max: 1, onnotice: () => {} });
      const stream = await from.unsafe(`copy "${t.name}" to stdout`).readable();
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      await from.end();
      exported.push({ table: t.name, chunks });
    }
    await into.unsafe(`truncate ${plan.map((t) => `"${t.name}"`).join(', ')}`);
    const plainStarted = performance.now();
    await into.begin(async (tx) => {
      for (const e of exported) {
        if (e.chunks.length === 0) continue;
        const stream = await tx.unsafe(`copy "${e.table}" from stdin`).writable();
        await pipeline(Readable.from(e.chunks), stream);
      }
    });
    const plainMs = performance.now() - plainStarted;
    const plainRate = TOTAL / (plainMs / 1000);
    await into.end();

    const load = loadavg()[0]?.toFixed(1);
    console.log('');
    console.log(`| ${TOTAL} rows SQLite -> Postgres | time | rows/s |`);
    console.log('| --- | ---: | ---: |');
    console.log(
      `| \`db:copy\` (read, convert, COPY, read back and compare checksums, one transaction) | ${(result.ms / 1000).toFixed(1)} s | ${Math.round(copyRate)} |`,
    );
    console.log(
      `| plain \`COPY ... FROM STDIN\` of the same rows (writes only) | ${(plainMs / 1000).toFixed(1)} s | ${Math.round(plainRate)} |`,
    );
    console.log('');
    console.log(
      `db:copy ran at ${(copyRate / plainRate).toFixed(2)}x the plain COPY; ${cpus().length} cores, load average ${load} at the end, Node ${process.version}`,
    );
  } finally {
    for (const d of databases) await admin.unsafe(`drop database if exists ${d} with (force)`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
