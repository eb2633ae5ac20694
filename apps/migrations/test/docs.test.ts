/**
 * What the documentation says about the repository, checked against the repository, so it
 * cannot drift: the README's "What exists today" table and counts against every package's
 * schema, the migrations README's example output against the tables that exist, no doc
 * pointing at files outside the repository, and CI's Node versions.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { kitTables, type SchemaModule } from '@exora/core';
import { describe, expect, it } from 'vitest';
import { readMigrations, repoRoot } from '../src/files.ts';
import { APP_DIR } from './helpers.ts';

const ROOT = repoRoot(APP_DIR);
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The domain packages `@exora/db/schema` is made of, from its `export * from` lines. */
function schemaPackages(): string[] {
  return [...read('packages/db/src/schema.ts').matchAll(/from '@exora\/(\w+)\/schema'/g)].map(
    (m) => m[1]!,
  );
}

async function tablesOf(pkg: string): Promise<string[]> {
  const file = join(ROOT, 'packages', pkg, 'src', 'schema', 'index.ts');
  const mod = (await import(pathToFileURL(file).href)) as SchemaModule;
  return kitTables(mod)
    .map((t) => t.name)
    .sort();
}

/** The lines of a README section, from its `## title` to the next `## `. */
function section(text: string, title: string): string {
  const start = text.indexOf(`## ${title}\n`);
  expect(start, `section "${title}"`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

const withoutCodeBlocks = (text: string) => text.replace(/^```[\s\S]*?^```/gm, '');
const codeBlocks = (text: string) =>
  [...text.matchAll(/^```\w*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);

function markdownFiles(): string[] {
  const out = ['README.md'];
  for (const dir of ['docs']) {
    for (const f of readdirSync(join(ROOT, dir))) if (f.endsWith('.md')) out.push(`${dir}/${f}`);
  }
  for (const dir of ['apps', 'packages']) {
    for (const name of readdirSync(join(ROOT, dir))) {
      if (existsSync(join(ROOT, dir, name, 'README.md'))) out.push(`${dir}/${name}/README.md`);
    }
  }
  return out;
}

describe('documentation against the repository', () => {
  it('README "What exists today" lists every package with its tables, and says all are built', async () => {
    const text = section(read('README.md'), 'What exists today');
    const rows = new Map(
      [...text.matchAll(/^\| `@exora\/(\w+)`\s*\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|$/gm)].map((m) => [
        m[1]!,
        { count: Number(m[2]), names: m[3]!.split(',').map((n) => n.trim()) },
      ]),
    );
    const packages = schemaPackages();
    expect([...rows.keys()].sort()).toEqual([...packages].sort());
    let total = 0;
    for (const pkg of packages) {
      const tables = await tablesOf(pkg);
      expect({ pkg, ...rows.get(pkg) }).toEqual({ pkg, count: tables.length, names: tables });
      total += tables.length;
    }
    const all = kitTables((await import('@exora/db/schema')) as SchemaModule);
    expect(all).toHaveLength(total);

    const [, built, seeds] =
      /^(\d+) of the (\d+) tables of the five seed systems/m.exec(text) ?? [];
    expect([Number(built), Number(seeds)]).toEqual([total, total]);
    // Every seed table is built: the README says so, and no document counts tables still to build.
    expect(text).toMatch(/^Every seed table is built/m);
    expect(text).not.toMatch(/not built|the other \d+/);
    expect(read('docs/seed-coverage.md')).not.toMatch(/the other \d+ tables|not built yet/);
  });

  it('the migrations README shows only tables that exist', async () => {
    const tables = new Set(
      kitTables((await import('@exora/db/schema')) as SchemaModule).map((t) => t.name),
    );
    tables.add('__exora_migrations');
    const named = new Set<string>();
    for (const block of codeBlocks(read('apps/migrations/README.md'))) {
      for (const re of [
        /^\s*table (\w+)$/gm,
        /\((\w+) \d+\/\d+\)/g,
        /\b(?:TABLE|ON|INTO|FROM|UPDATE)\s+[`"](\w+)[`"]/g,
        /\btable: '(\w+)'/g,
        /\breads: \['(\w+)'/g,
        /\btable\s+(\w+)\b(?= |$)/gm,
      ]) {
        for (const m of block.matchAll(re)) named.add(m[1]!);
      }
    }
    expect(named.size).toBeGreaterThan(3);
    expect([...named].filter((n) => !tables.has(n))).toEqual([]);
  });

  it('the migrations README example names the real migrations and the next numbers', () => {
    const text = read('apps/migrations/README.md');
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const files = readMigrations(join(ROOT, 'drizzle'), dialect);
      const next = String(files.length + 1).padStart(4, '0');
      expect(text).toContain(`${dialect}: wrote ${next}_alter_users`);
      if (dialect === 'sqlite') {
        // The fresh push example applies exactly the committed SQLite migrations.
        const applied = [...text.matchAll(/^applied (\d{4}_\w+) \(/gm)].map((m) => m[1]);
        expect(applied).toEqual(files.map((f) => f.name));
      }
    }
  });

  it('no document points at a file outside the repository', () => {
    const outside: string[] = [];
    for (const file of markdownFiles()) {
      const text = withoutCodeBlocks(read(file));
      const dir = resolve(ROOT, file, '..');
      for (const m of text.matchAll(/`(\.\.?\/[^`\s]*)`|\]\((\.\.?\/[^)\s]*)\)/g)) {
        const path = (m[1] ?? m[2])!;
        // Outside the repository, or nowhere in it (a path meant from a folder above it).
        const there = [resolve(dir, path), resolve(ROOT, path)].filter(
          (t) => !relative(ROOT, t).startsWith('..') && existsSync(t),
        );
        if (there.length === 0) outside.push(`${file}: ${m[0]}`);
      }
      for (const m of text.matchAll(/\]\((\/[^)\s]*)\)|`(\/(?:home|work|Users|srv)\/[^`]*)`/g)) {
        outside.push(`${file}: ${m[0]}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('CI runs on Node 20, 22 and 24', () => {
    const ci = read('.github/workflows/ci.yml');
    expect(ci).toMatch(/^\s+node: \[20, 22, 24\]$/m);
    expect(ci).toMatch(/node-version: \$\{\{ matrix\.node \}\}/);
  });
});
