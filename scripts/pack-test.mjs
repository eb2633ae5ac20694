#!/usr/bin/env node
// The real path, as a service outside this workspace takes it (after `pnpm build`): pack every
// published package, install the tarballs with npm into a temporary directory outside the
// workspace (one install, TypeScript included), then
//   - type-check the README's example as a .ts consumer against the published .d.ts files with
//     moduleResolution node16 and bundler;
//   - run it as a plain .mjs with node (no tsx, no source condition) on a fresh SQLite file and
//     on a fresh Postgres database (TEST_DATABASE_URL, else 127.0.0.1:5432), each pushed first
//     with this workspace's migrations CLI.
// Ends with 'N passed, N failed'; exits 1 on any failure.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packAll, root } from './packages.mjs';

const results = [];
function step(name, fn) {
  const started = Date.now();
  try {
    fn();
    results.push(true);
    console.log(`  ok    ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (error) {
    results.push(false);
    console.log(`  FAIL  ${name}\n${error.stdout ?? ''}${error.stderr ?? ''}${error.message}`);
  }
}

// Nothing of the workspace's own settings: no source condition, no pnpm.
const cleanEnv = { ...process.env };
for (const key of Object.keys(cleanEnv)) {
  if (key === 'NODE_OPTIONS' || key.startsWith('npm_') || key.startsWith('PNPM')) {
    delete cleanEnv[key];
  }
}
if (existsSync('/usr/include/node/node.h')) cleanEnv.npm_config_nodedir = '/usr';

const catalogVersion = (name) => {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const line = yaml.split('\n').find((l) => l.trim().replace(/"/g, '').startsWith(`${name}:`));
  if (!line) throw new Error(`${name} is not in the catalog`);
  return line.split(':').at(-1).trim().replace(/"/g, '');
};

/** The README's `ts runnable` block: the example a service copies. */
function readmeExample() {
  const markdown = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /^```ts runnable\n([\s\S]*?)^```$/m.exec(markdown);
  if (!block?.[1]) throw new Error('README.md has no ts runnable block');
  return block[1];
}

const work = mkdtempSync(join(tmpdir(), 'exora-pack-test-'));
const app = join(work, 'service');
mkdirSync(app);
const cli = (args, env) =>
  execFileSync(process.execPath, [join(root, 'apps/migrations/bin/db.mjs'), ...args], {
    cwd: root,
    env: { ...cleanEnv, ...env },
    encoding: 'utf8',
    stdio: 'pipe',
  });
const adminUrl = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const pgDatabase = `exora_pack_${randomBytes(4).toString('hex')}`;
const pgUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${pgDatabase}`;
  return u.toString();
})();
const inApp = (script) =>
  execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: app,
    env: cleanEnv,
    encoding: 'utf8',
    stdio: 'pipe',
  });

try {
  console.log(`pack test in ${work}`);
  let tarballs = [];
  step('pnpm pack every published package', () => {
    tarballs = packAll(join(work, 'tarballs'));
  });
  const example = readmeExample();
  writeFileSync(join(app, 'main.mjs'), example);
  writeFileSync(join(app, 'consumer.ts'), example);
  const dependencies = Object.fromEntries(tarballs.map((t) => [t.name, `file:${t.tarball}`]));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'exora-pack-test-service',
      private: true,
      type: 'module',
      dependencies,
      devDependencies: {
        typescript: catalogVersion('typescript'),
        '@types/node': catalogVersion('@types/node'),
      },
    }),
  );
  step('npm install the tarballs outside the workspace (one install)', () => {
    // Without install scripts: better-sqlite3's would download a prebuilt binary (no network
    // here) or compile one for minutes; the workspace's build of the same version for the same
    // Node is copied in instead, as the download would have put it.
    execFileSync(
      'npm',
      ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: app, env: cleanEnv, encoding: 'utf8', stdio: 'pipe' },
    );
    const built = join(
      realpathSync(join(root, 'packages/core/node_modules/better-sqlite3')),
      'build',
    );
    const installed = JSON.parse(
      readFileSync(join(app, 'node_modules/better-sqlite3/package.json'), 'utf8'),
    ).version;
    if (installed !== catalogVersion('better-sqlite3')) {
      throw new Error(`better-sqlite3 ${installed} installed, the workspace built another`);
    }
    cpSync(built, join(app, 'node_modules/better-sqlite3/build'), { recursive: true });
  });
  for (const resolution of ['node16', 'bundler']) {
    step(`tsc: the example against the published .d.ts, moduleResolution ${resolution}`, () => {
      const config = `tsconfig.${resolution}.json`;
      writeFileSync(
        join(app, config),
        JSON.stringify({
          compilerOptions: {
            module: resolution === 'node16' ? 'node16' : 'esnext',
            moduleResolution: resolution,
            target: 'es2022',
            lib: ['es2023'],
            types: ['node'],
            strict: true,
            noEmit: true,
            // As in the workspace: drizzle-orm's own .d.ts files do not check under TypeScript 7
            // (its mysql and singlestore drivers need packages a SQLite/Postgres service lacks).
            skipLibCheck: true,
          },
          files: ['consumer.ts'],
        }),
      );
      execFileSync(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', config], {
        cwd: app,
        env: cleanEnv,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    });
  }
  const keys = {
    EXORA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    EXORA_BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
  };
  const runExample = (url) => {
    const out = execFileSync(process.execPath, ['main.mjs'], {
      cwd: app,
      env: { ...cleanEnv, ...keys, DATABASE_URL: url },
      encoding: 'utf8',
      stdio: 'pipe',
    });
    if (!out.includes('signed in;')) throw new Error(`unexpected output: ${out}`);
  };
  step('node main.mjs on SQLite (a fresh file, pushed by the CLI)', () => {
    const file = join(work, 'exora.db');
    cli(['push', '--url', file]);
    runExample(file);
    runExample(file);
  });
  step('node main.mjs on Postgres (a fresh database, pushed by the CLI)', () => {
    inApp(
      `import postgres from 'postgres'; const sql = postgres(${JSON.stringify(adminUrl)}, { max: 1, onnotice() {} });` +
        ` await sql.unsafe('create database ${pgDatabase}'); await sql.end();`,
    );
    cli(['push', '--url', pgUrl]);
    runExample(pgUrl);
    runExample(pgUrl);
  });
} finally {
  try {
    inApp(
      `import postgres from 'postgres'; const sql = postgres(${JSON.stringify(adminUrl)}, { max: 1, onnotice() {} });` +
        ` await sql.unsafe('drop database if exists ${pgDatabase} with (force)'); await sql.end();`,
    );
  } catch {
    // The database was never created, or the server is gone: nothing to drop.
  }
  rmSync(work, { recursive: true, force: true });
}
const passed = results.filter(Boolean).length;
console.log(`pack test: ${passed} passed, ${results.length - passed} failed`);
if (passed !== results.length) process.exit(1);
