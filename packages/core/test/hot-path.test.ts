/**
 * Shapes of code that are measurably slow on the repositories' hot path, kept out of every
 * domain's repositories (see README, "Writing a repository").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function repositorySources(): string[] {
  const files: string[] = [];
  for (const pkg of readdirSync(packagesDir)) {
    const dir = join(packagesDir, pkg, 'src', 'repositories');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (name.endsWith('.ts')) files.push(join(dir, name));
  }
  return files;
}

// `{ ...a, b: 1 }` or `{ ...a, b }`, on one line or over several: a spread followed by a named
// property in the same literal. On Node 20 each property the spread did not already have costs
// about 1 µs when added after it (measured: 13 µs for eleven); write the named properties first
// or use Object.assign. Replacing a key the spread copied is not slow: mark it `spread-ok:`.
const SPREAD_THEN_PROPERTY = /\{\s*\.\.\.[^,{}]+,\s*[A-Za-z_$][\w$]*\s*[:,}]/g;

describe('repository hot path', () => {
  it('has repositories to check', () => {
    expect(repositorySources().length).toBeGreaterThan(10);
  });

  it('builds no object by spreading first and adding properties after', () => {
    const offenders: string[] = [];
    for (const file of repositorySources()) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(SPREAD_THEN_PROPERTY)) {
        const before = text.slice(0, match.index);
        // Selections are built once, when a statement is declared, not per call.
        if (/\.(select|returning)\(\s*$/.test(before)) continue;
        // Replacing keys the spread already has is not the slow case: say so where it is done.
        const lines = before.split('\n');
        if (/spread-ok:/.test(lines.at(-2) ?? '') || /spread-ok:/.test(lines.at(-1) ?? ''))
          continue;
        const line = lines.length;
        offenders.push(`${relative(packagesDir, file)}:${line}: ${match[0].replace(/\s+/g, ' ')}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('recognises the shape it forbids', () => {
    const hits = (s: string) => [...s.matchAll(SPREAD_THEN_PROPERTY)].length;
    expect(hits('run(ctx, s, { ...params, owner: row.owner })')).toBe(1);
    expect(hits('const p = {\n  ...values,\n  passwordHash,\n};')).toBe(1);
    expect(hits('{ owner, ...values }')).toBe(0);
    expect(hits('Object.assign({}, values, { owner })')).toBe(0);
    expect(hits('db.select({ ...info(t), token: t.token })')).toBe(1); // exempted where checked
  });
});
