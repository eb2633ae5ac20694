/**
 * The migrations CLI: `tsx src/cli.ts <command> [options]` (the package's `db:*` scripts).
 * Exit codes: 0 done (verify: no drift), 1 failure or drift, 2 usage or connection error.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  connect,
  type Database,
  type Dialect,
  defaultSqlitePath,
  isPostgresUrl,
  redactUrl,
} from '@exora/core';
import { sql } from 'drizzle-orm';
import { copyDatabase } from './copy.ts';
import { ConnectionError, MigrationError, reason, UsageError } from './errors.ts';
import { databaseUrl, defaultMigrationsDir, unsupportedScheme } from './files.ts';
import { DIALECTS, generate } from './generate.ts';
import { migrate, rollback, status } from './migrator.ts';
import { push } from './push.ts';
import { DEFAULT_APP_ROLE, ensureAppRole } from './roles.ts';
import { type SeedResult, seed } from './seed.ts';
import { loadSource } from './source.ts';
import { assertPushed, runStudio, STUDIO_PORT, studioWarning } from './studio.ts';
import { formatReport, verify } from './verify.ts';

const USAGE = `Usage: tsx src/cli.ts <command> [options]

Commands:
  generate   write the next migration of both dialects into drizzle/ from the schema
             [--name <slug>] [--allow-destructive "<reason>"] [--custom] [--dialect sqlite|postgres]
  push       apply pending migrations and reference data to DATABASE_URL (default data/exora.db)
  migrate    apply pending migrations in order (production)
  status     list applied and pending migrations                        [--json]
  rollback   undo the newest applied migration                          [--steps <n>]
  verify     compare the database with the schema; exit 1 on drift      [--json]
  seed       insert reference rows (ON CONFLICT DO NOTHING)
  roles      create the application role and grant it DML (Postgres)   [--role <name>]
  copy       copy every table from one database to another (either dialect), in foreign-key
             order, verified by row counts and checksums before it commits
             [--from <url>] --to <url> [--truncate] [--batch <rows>]
             (--from default: the embedded SQLite file data/exora.db)
  studio     drizzle-kit studio on 127.0.0.1 (needs the internet: the UI is drizzle's hosted
             page; its server runs any SQL as the URL's role)             [--port <n>]

Options:
  --url <url>       database (default: DATABASE_URL, else PGHOST/PGDATABASE, else data/exora.db)
  --dir <path>      migrations root (default: drizzle/ at the repository root)
  --schema <path>   schema module file instead of @exora/db/schema (repeatable)
`;

type Out = (line: string) => void;

interface Cli {
  command: string;
  values: {
    url?: string;
    dir?: string;
    schema?: string[];
    json?: boolean;
    name?: string;
    'allow-destructive'?: string;
    custom?: boolean;
    dialect?: string;
    steps?: string;
    role?: string;
    port?: string;
    from?: string;
    to?: string;
    truncate?: boolean;
    batch?: string;
    help?: boolean;
  };
}

function parse(argv: string[]): Cli {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        dir: { type: 'string' },
        schema: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        name: { type: 'string' },
        'allow-destructive': { type: 'string' },
        custom: { type: 'boolean' },
        dialect: { type: 'string' },
        steps: { type: 'string' },
        role: { type: 'string' },
        port: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        truncate: { type: 'boolean' },
        batch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (positionals.length > 1) throw new Error(`unexpected argument "${positionals[1]}"`);
    return { command: positionals[0] ?? '', values };
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
}

async function open(cli: Cli, mustExist: boolean): Promise<Database> {
  const url = databaseUrl(cli.values.url);
  if (!isPostgresUrl(url) && mustExist && url !== ':memory:' && !existsSync(url)) {
    throw new ConnectionError(`No SQLite database at ${url}: run \`pnpm db:push\` first.`);
  }
  let db: Database;
  try {
    // Commands that may create the database (push, migrate, roles) create its directory too.
    db = connect(url, mustExist ? {} : { sqlite: { createDirectory: true } });
  } catch (error) {
    throw new ConnectionError(`Cannot open ${redactUrl(url)}: ${reason(error)}`);
  }
  try {
    await db.execute(sql`select 1`);
  } catch (error) {
    await db.close().catch(() => {});
    throw new ConnectionError(`Cannot connect to ${db.safeUrl}: ${reason(error)}`);
  }
  return db;
}

function dirOf(cli: Cli): string {
  return cli.values.dir ? resolve(cli.values.dir) : defaultMigrationsDir();
}

function schemaPaths(cli: Cli): string[] {
  return (cli.values.schema ?? []).map((p) => resolve(p));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function seedLine(result: SeedResult): string {
  if (result.tables.length === 0) return 'nothing to seed: the schema has no reference data';
  const per = result.tables.map((t) => `${t.table} ${t.inserted}/${t.rows}`).join(', ');
  return result.inserted === 0
    ? `reference data already present: 0 rows inserted (${per})`
    : `seeded ${plural(result.inserted, 'row')} (${per})`;
}

async function withDb<R>(cli: Cli, mustExist: boolean, fn: (db: Database) => Promise<R>) {
  const db = await open(cli, mustExist);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** `out` is the command's output (stdout); `warn` takes warnings (stderr), so JSON stays clean. */
export async function run(
  argv: string[],
  out: Out = console.log,
  warn: Out = console.error,
): Promise<number> {
  const cli = parse(argv);
  if (cli.values.help || cli.command === 'help') {
    out(USAGE);
    return 0;
  }
  if (cli.command === '') throw new UsageError(`No command given.\n\n${USAGE}`);
  const dir = dirOf(cli);
  const onApplied = (name: string, statements: number, ms: number) =>
    out(`applied ${name} (${plural(statements, 'statement')}, ${ms} ms)`);

  switch (cli.command) {
    case 'generate': {
      const dialect = cli.values.dialect;
      if (dialect !== undefined && !DIALECTS.includes(dialect as Dialect)) {
        throw new UsageError(`--dialect must be sqlite or postgres, not "${dialect}"`);
      }
      const source = await loadSource(schemaPaths(cli));
      const results = await generate({
        source,
        dir,
        ...(dialect ? { dialects: [dialect as Dialect] } : {}),
        ...(cli.values.name ? { name: cli.values.name } : {}),
        ...(cli.values['allow-destructive'] !== undefined
          ? { allowDestructive: cli.values['allow-destructive'] }
          : {}),
        ...(cli.values.custom ? { custom: true } : {}),
      });
      for (const r of results) {
        if (r.status === 'unchanged') {
          out(`${r.dialect}: no changes (${dir}/${r.dialect} is up to date with ${source.label})`);
        } else {
          const what = cli.values.custom
            ? 'an empty custom migration: write its SQL'
            : `${plural(r.statements, 'statement')}${r.destructive.length > 0 ? `, ${r.destructive.length} destructive (marked)` : ''}`;
          out(`${r.dialect}: wrote ${r.name} (${what})`);
          for (const p of r.paths) out(`  ${p}`);
        }
      }
      return 0;
    }
    case 'push': {
      const source = await loadSource(schemaPaths(cli));
      return withDb(cli, false, async (db) => {
        out(`push ${db.dialect} ${db.safeUrl}`);
        const result = await push(db, dir, source, { onApplied });
        const applied =
          result.applied.length === 0
            ? 'already up to date: nothing applied'
            : `applied ${plural(result.applied.length, 'migration')}`;
        out(`${applied}; ${seedLine(result.seed)}`);
        // Migrations only add what they create: a database changed by hand stays changed.
        const { differences } = await verify(db, source);
        if (differences.length > 0) {
          out(
            `DRIFT: the database still differs from the schema in ${plural(differences.length, 'place')} ` +
              `(${differences
                .slice(0, 3)
                .map(
                  (d) =>
                    `${d.object} ${d.name} ${d.problem === 'unexpected' ? 'not in the schema' : d.problem}`,
                )
                .join(', ')}${differences.length > 3 ? ', ...' : ''}): ` +
              'pushing does not change objects a migration already made. Run `pnpm db:verify` ' +
              'for every difference and the SQL that repairs it.',
          );
          return 1;
        }
        return 0;
      });
    }
    case 'migrate':
      return withDb(cli, false, async (db) => {
        out(`migrate ${db.dialect} ${db.safeUrl}`);
        const { applied } = await migrate(db, dir, { onApplied });
        out(
          applied.length === 0
            ? 'already up to date: nothing applied'
            : `applied ${plural(applied.length, 'migration')}`,
        );
        return 0;
      });
    case 'status':
      return withDb(cli, true, async (db) => {
        const entries = await status(db, dir);
        if (cli.values.json) {
          out(JSON.stringify({ dialect: db.dialect, database: db.safeUrl, migrations: entries }));
          return 0;
        }
        out(`status ${db.dialect} ${db.safeUrl} (${dir}/${db.dialect})`);
        if (entries.length === 0) out('no migrations');
        for (const e of entries) {
          out(`  ${e.state.padEnd(12)} ${e.name}${e.appliedAt ? `  ${e.appliedAt}` : ''}`);
        }
        const count = (s: string) => entries.filter((e) => e.state === s).length;
        out(`${count('applied')} applied, ${count('pending')} pending`);
        const bad = entries.filter((e) => !['applied', 'pending'].includes(e.state));
        if (bad.length > 0) {
          out(`${plural(bad.length, 'problem')}: db:migrate will refuse to run until fixed`);
          return 1;
        }
        return 0;
      });
    case 'rollback': {
      const steps = cli.values.steps === undefined ? 1 : Number(cli.values.steps);
      if (!Number.isInteger(steps) || steps < 1) {
        throw new UsageError('--steps must be a positive integer');
      }
      return withDb(cli, true, async (db) => {
        out(`rollback ${db.dialect} ${db.safeUrl}`);
        const { rolledBack } = await rollback(db, dir, steps);
        if (rolledBack.length === 0) out('nothing to roll back: no migration is applied');
        for (const name of rolledBack) out(`rolled back ${name}`);
        return 0;
      });
    }
    case 'verify': {
      const source = await loadSource(schemaPaths(cli));
      return withDb(cli, true, async (db) => {
        const report = await verify(db, source, dir);
        out(cli.values.json ? JSON.stringify(report) : formatReport(report));
        return report.ok ? 0 : 1;
      });
    }
    case 'seed': {
      const source = await loadSource(schemaPaths(cli));
      return withDb(cli, true, async (db) => {
        out(`seed ${db.dialect} ${db.safeUrl}`);
        out(seedLine(await seed(db, source)));
        return 0;
      });
    }
    case 'roles': {
      const role = cli.values.role ?? process.env.EXORA_APP_ROLE ?? DEFAULT_APP_ROLE;
      return withDb(cli, false, async (db) => {
        const password = process.env.EXORA_APP_PASSWORD;
        const r = await ensureAppRole(db, { appRole: role, ...(password ? { password } : {}) });
        const what = r.created
          ? `created role ${r.role}${r.passwordSet ? ' with the password from EXORA_APP_PASSWORD' : ''}`
          : r.passwordSet
            ? `role ${r.role} already exists: its password was changed to EXORA_APP_PASSWORD`
            : `role ${r.role} already exists (password unchanged: EXORA_APP_PASSWORD is not set)`;
        out(
          `${what}; DML granted on ${plural(r.tables, 'table')} in ${r.schema} ` +
            `(tables owned by ${r.owner}), none on the migration history`,
        );
        if (r.ownerIsSuperuser) {
          warn(
            `warning: the migration owner ${r.owner} is a superuser: row-level security does not ` +
              'apply to it. In production run db:migrate as a non-superuser owner (see ' +
              'apps/migrations/README.md, Roles).',
          );
        }
        return 0;
      });
    }
    case 'copy': {
      if (!cli.values.to) throw new UsageError(`copy needs --to <url>\n\n${USAGE}`);
      const batchSize = cli.values.batch === undefined ? 5000 : Number(cli.values.batch);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000) {
        throw new UsageError('--batch must be an integer from 1 to 100000');
      }
      const from = cli.values.from ?? defaultSqlitePath();
      const to = cli.values.to;
      for (const url of [from, to]) {
        if (
          !isPostgresUrl(url) &&
          /^[a-z][a-z0-9+.-]*:\/\//i.test(url) &&
          !url.startsWith('file:')
        ) {
          throw new UsageError(unsupportedScheme(url));
        }
      }
      const source = await loadSource(schemaPaths(cli));
      out(`copy ${redactUrl(from)} -> ${redactUrl(to)}`);
      const result = await copyDatabase({
        from,
        to,
        dir,
        source,
        batchSize,
        ...(cli.values.truncate ? { truncate: true } : {}),
        onProgress: (p) => out(`  ${p.table} ${p.done}/${p.total}`),
      });
      const seconds = result.ms / 1000;
      out(
        `copied ${plural(result.rows, 'row')} in ${plural(result.tables.length, 'table')} in ${seconds.toFixed(1)} s ` +
          `(${Math.round(result.rows / Math.max(seconds, 0.001))} rows/s); row counts and checksums of every table match`,
      );
      return 0;
    }
    case 'studio': {
      const port = cli.values.port === undefined ? STUDIO_PORT : Number(cli.values.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new UsageError('--port must be a port number (1-65535)');
      }
      const url = databaseUrl(cli.values.url);
      await withDb(cli, true, async (db) => {
        await assertPushed(db);
        warn(await studioWarning(db, port));
      });
      return runStudio(url, port, schemaPaths(cli));
    }
    default:
      throw new UsageError(`Unknown command "${cli.command}"\n\n${USAGE}`);
  }
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  try {
    return await run(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConnectionError) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    if (error instanceof MigrationError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    console.error(`error: ${reason(error)}`);
    if (process.env.DEBUG) console.error(error);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // Output piped into `head` and the like: stop quietly when the reader goes away.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await main();
}
