import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { markdownTable } from '../src/markdown.ts';

describe('markdownTable', () => {
  it('writes the committed results table exactly as the formatter keeps it', () => {
    const text = readFileSync(new URL('../../../docs/bench-results.md', import.meta.url), 'utf8');
    const table = text.split('\n').filter((l) => l.startsWith('|'));
    const cells = (l: string) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim());
    const right = cells(table[1]!).map((c) => c.endsWith(':'));
    expect(table.length).toBeGreaterThan(4);
    expect(markdownTable(cells(table[0]!), right, table.slice(2).map(cells))).toEqual(table);
  });
});
