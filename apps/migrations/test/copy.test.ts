/**
 * `db:copy` end to end: every platform table filled on SQLite from the schema's metadata alone
 * (so a table added tomorrow is filled too), secrets encrypted as the engine binds them, copied
 * to Postgres and back to a fresh SQLite file; every row must come back identical and every
 * secret must decrypt on each side. Then the refusals: each a one-line error, nothing written.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type AnyTable, type ColumnKind, connect, schemaInfo } from '@exora/core';
import { providePooler } from '@exora/core/testing';
import { createTestCrypto } from '@exora/crypto/testing';
import BetterSqlite3 from 'better-sqlite3';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { copyPlan } from '../src/copy.ts';
import { defaultMigrationsDir } from '../src/files.ts';
import { rollback } from '../src/migrator.ts';
import { push } from '../src/push.ts';
import { loadSource, type SchemaSource } from '../src/source.ts';
import { pgAdmin, pgUrl, runMain, tempDir, uniqueName } from './helpers.ts';

const PASSWORD = 'test-only-password';
/** Rows tried per table (some may be dropped by a unique key or a CHECK they happen to break). */
const ROWS = 6;

type Row = Record<string, unknown>;

/** Text that exercises every escape on the way: COPY's, JSON's, arrays', SQL quoting. */
const tricky = (i: number) =>
  `v${i} tab\there\nline\r 'q' "dq" back\\slash \\N \b\f\v\u0001 é 😀 {a,b} NULL`;

function sample(
  kind: ColumnKind,
  i: number,
  enumValues: readonly string[] | undefined,
  max?: number,
) {
  switch (kind) {
    case 'uuid':
      return randomUUID();
    case 'integer':
    case 'bigint':
      return (i * 37) % 101;
    case 'real':
      return Math.random() / 3;
    case 'boolean':
      return i % 2 === 0;
    case 'timestamp':
      return Date.UTC(2001, 0, 1) + Math.floor(Math.random() * 1e12);
    case 'json':
      // Keys out of order, array-index keys, `__proto__`, objects inside arrays: jsonb
      // reorders keys, and the checksum must not see it.
      return JSON.stringify({
        z: i,
        a: { nested: [1, 2.5, null, true, tricky(i), { y: [], b: {} }], ключ: '値' },
        m: -0.000123,
        '10': 'ten',
        '9': [{ y: 1, b: 1e-7 }],
        flat: { q: 1e21, c: 'x', b: false },
        ['__proto__']: { p: 1 },
      });
    case 'textArray':
      return JSON.stringify(['a', 'b"c', 'd\\e', 'with,comma', '{brace}', 'NULL', tricky(i)]);
    case 'enum':
      return enumValues?.[i % enumValues.length] ?? null;
    default: {
      const text = `${i}-${randomUUID().slice(0, 8)} ${tricky(i)}`;
      return max === undefined ? text : text.slice(0, max);
    }
  }
}

/** The SQLite form of one generated row of `table`, its foreign keys pointing at `rows`. */
function generate(
  table: AnyTable,
  i: number,
  rows: Map<string, Row[]>,
  secrets: ReturnType<typeof schemaInfo>,
  cipher: ReturnType<typeof createTestCrypto>['cipher'],
  plaintexts: Map<string, string>,
): Row {
  const row: Row = {};
  const config = getTableConfig(table.sqlite);
  for (const c of table.meta.columns) {
    const column = config.columns.find((x) => x.name === c.name);
    const nullable = column ? !column.notNull : true;
    row[c.name] =
      nullable && i % 3 === 2 ? null : sample(c.meta.kind, i, c.meta.enumValues, c.meta.maxLength);
    if (c.meta.kind === 'timestamp' && row[c.name] !== null) row[c.name] = Number(row[c.name]);
    if (c.meta.kind === 'boolean' && row[c.name] !== null) row[c.name] = row[c.name] ? 1 : 0;
  }
  // Foreign keys: the composite ones last, so they win over a single-column key they share.
  const fks = [...config.foreignKeys].sort(
    (a, b) => a.reference().columns.length - b.reference().columns.length,
  );
  // Composite keys to other tables that share a not-null owner column and each have a nullable
  // column of their own are alternatives (a message of a conversation or of a chat session):
  // one of them is set per row, the others left null.
  const alternatives = fks.filter((fk) => {
    const ref = fk.reference();
    return (
      getTableConfig(ref.foreignTable).name !== table.name &&
      ref.columns.some((c) => c.notNull) &&
      ref.columns.some((c) => !c.notNull)
    );
  });
  const chosen = alternatives.length > 1 ? alternatives[i % alternatives.length] : undefined;
  for (const fk of fks) {
    const ref = fk.reference();
    if (chosen && fk !== chosen && alternatives.includes(fk)) {
      for (const c of ref.columns) if (!c.notNull) row[c.name] = null;
      continue;
    }
    const parentName = getTableConfig(ref.foreignTable).name;
    const pool = rows.get(parentName) ?? [];
    const self = parentName === table.name;
    const optional = ref.columns.every((c) => !c.notNull);
    if (pool.length === 0 || (optional && (self || i % 4 === 3))) {
      if (!optional) throw new Error(`${table.name}: no ${parentName} row to reference`);
      for (const c of ref.columns) row[c.name] = null;
      continue;
    }
    const parent = pool[(i * 7) % pool.length] as Row;
    ref.columns.forEach((c, k) => {
      row[c.name] = parent[ref.foreignColumns[k]?.name ?? ''];
    });
  }
  // Secrets: ciphertexts bound the way the engine binds them (table, column, row identity).
  const byKey: Row = {};
  for (const c of table.meta.columns) byKey[c.key] = row[c.name];
  for (const c of table.meta.columns) {
    if (!c.meta.secret || row[c.name] === null) continue;
    const plaintext = `secret ${table.name}.${c.name} ${i} ${tricky(i)}`;
    const context = secrets.secretContext((table.sqlite as never)[c.key], byKey);
    row[c.name] = cipher.encrypt(plaintext, context);
    plaintexts.set(String(row[c.name]), plaintext);
  }
  return row;
}

/** Fills every table of the schema on a pushed SQLite file; returns the secrets written. */
function fill(file: string, source: SchemaSource, crypto: ReturnType<typeof createTestCrypto>) {
  const db = new BetterSqlite3(file);
  db.pragma('foreign_keys = ON');
  const info = schemaInfo(source.tables);
  const plaintexts = new Map<string, string>();
  const rows = new Map<string, Row[]>();
  const empty: string[] = [];
  for (const planned of copyPlan(source.tables)) {
    const table = source.tables.find((t) => t.name === planned.name) as AnyTable;
    const names = table.meta.columns.map((c) => c.name);
    const insert = db.prepare(
      `insert or ignore into "${table.name}" (${names.map((n) => `"${n}"`).join(', ')}) values (${names.map(() => '?').join(', ')})`,
    );
    const kept: Row[] = [];
    rows.set(table.name, kept);
    for (let i = 0; i < ROWS; i++) {
      const row = generate(table, i, rows, info, crypto.cipher, plaintexts);
      if (insert.run(names.map((n) => row[n])).changes === 1) kept.push(row);
    }
    // Rows a trigger made count too (statistics): reference them like the others.
    const all = db.prepare(`select * from "${table.name}"`).all() as Row[];
    rows.set(table.name, all);
    if (all.length === 0) empty.push(table.name);
  }
  db.close();
  return { plaintexts, empty };
}

/** Every row of every table, by table, in primary-key order; JSON columns parsed. */
function snapshot(file: string, source: SchemaSource): Record<string, Row[]> {
  const db = new BetterSqlite3(file, { readonly: true });
  const out: Record<string, Row[]> = {};
  for (const t of copyPlan(source.tables)) {
    const json = new Set(
      t.columns.filter((c) => c.kind === 'json' || c.kind === 'textArray').map((c) => c.name),
    );
    const order = (t.primaryKey.length > 0 ? t.primaryKey : ['rowid']).map((c) => `"${c}"`);
    const rows = db
      .prepare(`select * from "${t.name}" order by ${order.join(', ')}`)
      .all() as Row[];
    out[t.name] = rows.map((r) => {
      for (const name of json)
        if (typeof r[name] === 'string') r[name] = JSON.parse(r[name] as string);
      return r;
    });
  }
  db.close();
  return out;
}

/** Decrypts every secret of `rows` (by table) with its row's binding; returns how many. */
function decryptAll(
  rows: Record<string, Row[]>,
  source: SchemaSource,
  crypto: ReturnType<typeof createTestCrypto>,
  plaintexts: Map<string, string>,
): number {
  const info = schemaInfo(source.tables);
  let n = 0;
  for (const table of source.tables) {
    for (const r of rows[table.name] ?? []) {
      const byKey: Row = {};
      for (const c of table.meta.columns) byKey[c.key] = r[c.name];
      for (const c of table.meta.columns) {
        if (!c.meta.secret || r[c.name] == null) continue;
        const context = info.secretContext((table.sqlite as never)[c.key], byKey);
        expect(crypto.cipher.decrypt(String(r[c.name]), context)).toBe(
          plaintexts.get(String(r[c.name])),
        );
        n++;
      }
    }
  }
  return n;
}

describe('db:copy: SQLite -> Postgres -> SQLite, every table', () => {
  const crypto = createTestCrypto();
  const dir = tempDir('exora-copy-');
  const admin = pgAdmin();
  const owner = uniqueName('exora_copy_owner');
  const databases: string[] = [];
  let source: SchemaSource;
  let original: Record<string, Row[]>;
  let plaintexts: Map<string, string>;
  const sqliteA = join(dir, 'mvp.db');

  /** A new Postgres database owned by a non-superuser; pushed unless told otherwise. */
  const postgresDb = async (pushed = true) => {
    const name = uniqueName('exora_t_copy');
    databases.push(name);
    await admin.unsafe(`create database ${name} owner ${owner}`);
    const url = pgUrl(name, owner, PASSWORD);
    if (pushed) {
      const db = connect(url);
      await push(db, defaultMigrationsDir(), source);
      await db.close();
    }
    return url;
  };
  const sqliteDb = async (name: string) => {
    const file = join(dir, name);
    const db = connect(file);
    await push(db, defaultMigrationsDir(), source);
    await db.close();
    return file;
  };
  const pgCounts = async (url: string) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      return await sql.begin(async (tx) => {
        await tx`select set_config('app.service', 'on', true)`;
        const out: Record<string, number> = {};
        for (const t of source.tables) {
          const [r] = await tx.unsafe(`select count(*)::int as n from "${t.name}"`);
          out[t.name] = Number(r?.n);
        }
        return out;
      });
    } finally {
      await sql.end();
    }
  };

  beforeAll(async () => {
    await admin.unsafe(`create role ${owner} login nosuperuser createdb password '${PASSWORD}'`);
    source = await loadSource();
    await sqliteDb('mvp.db');
    const filled = fill(sqliteA, source, crypto);
    expect(filled.empty, 'tables the generic filler could not fill').toEqual([]);
    plaintexts = filled.plaintexts;
    original = snapshot(sqliteA, source);
  });
  afterAll(async () => {
    for (const name of databases)
      await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.unsafe(`drop role if exists ${owner}`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies every row there and back, identical, every secret still decrypting', async () => {
    const secrets = decryptAll(original, source, crypto, plaintexts);
    expect(secrets).toBeGreaterThan(0);
    const pg = await postgresDb();
    const there = await runMain(['copy', '--from', sqliteA, '--to', pg]);
    expect(there.err).toBe('');
    expect(there.code).toBe(0);
    for (const t of source.tables) {
      const n = original[t.name]?.length ?? 0;
      expect(there.out).toContain(`  ${t.name} ${n}/${n}`);
    }
    expect(there.out).toMatch(/row counts and checksums of every table match/);
    const counts = await pgCounts(pg);
    for (const t of source.tables) expect(counts[t.name], t.name).toBe(original[t.name]?.length);
    // The foreign keys and indexes the copy dropped for its writes are back as they were.
    const verified = await runMain(['verify', '--url', pg]);
    expect(verified.out).toMatch(/OK: the database matches the schema/);
    expect(verified.code).toBe(0);

    const back = await sqliteDb('back.db');
    const home = await runMain(['copy', '--from', pg, '--to', back]);
    expect(home.err).toBe('');
    expect(home.code).toBe(0);
    const returned = snapshot(back, source);
    expect(returned).toEqual(original);
    expect(decryptAll(returned, source, crypto, plaintexts)).toBe(secrets);
  });

  it('copies into Postgres through a transaction-mode PgBouncer (?pooler=transaction)', async () => {
    const pooler = await providePooler(inject('pgAdminUrl'));
    try {
      const pg = await postgresDb();
      const through = await runMain(['copy', '--from', sqliteA, '--to', pooler.via(pg)]);
      expect(through.err).toBe('');
      expect(through.code).toBe(0);
      const counts = await pgCounts(pg);
      for (const t of source.tables) expect(counts[t.name], t.name).toBe(original[t.name]?.length);
    } finally {
      await pooler.stop();
    }
  });

  it('keeps a key a view of the target depends on, and copies all the same', async () => {
    const pg = await postgresDb();
    const sql = postgres(pg, { max: 1, onnotice: () => {} });
    // Grouped by the primary key: the view's other columns depend on that constraint.
    await sql.unsafe(
      'create view organization_names as select id, name from organizations group by id',
    );
    await sql.end();
    const copied = await runMain(['copy', '--from', sqliteA, '--to', pg]);
    expect(copied.err).toBe('');
    expect(copied.code).toBe(0);
    const counts = await pgCounts(pg);
    for (const t of source.tables) expect(counts[t.name], t.name).toBe(original[t.name]?.length);
  });

  it('refuses unsafe targets in one line and writes nothing', async () => {
    const pg = await postgresDb();
    expect((await runMain(['copy', '--from', sqliteA, '--to', pg])).code).toBe(0);
    const before = await pgCounts(pg);
    const full = await runMain(['copy', '--from', sqliteA, '--to', pg]);
    expect(full.code).toBe(1);
    expect(full.err).toMatch(
      /^error: the target .* already holds rows \(.+\): .*--truncate.*nothing was copied$/,
    );
    expect(full.err.split('\n')).toHaveLength(1);
    expect(await pgCounts(pg)).toEqual(before);

    const never = await postgresDb(false);
    const unpushed = await runMain(['copy', '--from', sqliteA, '--to', never]);
    expect(unpushed.code).toBe(1);
    expect(unpushed.err).toMatch(/^error: the target .* was never pushed/);
    expect(unpushed.err.split('\n')).toHaveLength(1);

    // A target one migration behind this checkout (its newest rolled back).
    const behind = await sqliteDb('behind.db');
    const rolled = connect(behind);
    await rollback(rolled, defaultMigrationsDir(), 1);
    await rolled.close();
    const stale = await runMain(['copy', '--from', sqliteA, '--to', behind]);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(
      /^error: the target .* is not at this checkout's migrations \(.*pending\)/,
    );
    expect(
      new BetterSqlite3(behind, { readonly: true })
        .prepare('select count(*) as n from users')
        .get(),
    ).toEqual({ n: 0 });

    const same = await runMain(['copy', '--from', sqliteA, '--to', sqliteA]);
    expect(same.code).toBe(1);
    expect(same.err).toMatch(/same database/);

    // A row whose parent is missing (written with the source's keys off) fails the copy at the
    // keys it checks after the writes; nothing is written.
    const dangling = join(dir, 'dangling.db');
    const copyOf = new BetterSqlite3(sqliteA, { readonly: true });
    await copyOf.backup(dangling);
    copyOf.close();
    const broken = new BetterSqlite3(dangling);
    broken.pragma('foreign_keys = OFF');
    const step = broken.prepare('select id from steps limit 1').pluck().get() as string;
    broken.prepare('update steps set workflow_id = ? where id = ?').run(randomUUID(), step);
    broken.close();
    const refused = await runMain(['copy', '--from', dangling, '--to', pg, '--truncate']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /^error: the copy failed \(foreign key violation, 23503\); nothing was copied$/,
    );
    expect(await pgCounts(pg)).toEqual(before);
    expect((await runMain(['verify', '--url', pg])).code).toBe(0);

    // --truncate replaces what is there.
    const again = await runMain(['copy', '--from', sqliteA, '--to', pg, '--truncate']);
    expect(again.code).toBe(0);
    expect(await pgCounts(pg)).toEqual(before);
  });
});
