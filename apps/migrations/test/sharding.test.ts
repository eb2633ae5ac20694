/**
 * The tenant-sharding check: for every kit table of `@exora/db/schema` (whatever tables other
 * domains add later), whether it could be a Citus distributed table (distributed by its owner
 * column), a reference table, or why it is not shardable yet. docs/scaling.md lists the tables
 * this check reports; the test fails when the two disagree, so the plan stays true.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AnyTable, kitTables, type SchemaModule } from '@exora/core';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../src/files.ts';

interface Verdict {
  table: string;
  kind: 'distributed' | 'reference' | 'not shardable';
  column: string | undefined;
  reasons: string[];
}

/** Distribution column: the owner column the row-level policy already filters on. */
function distributionColumn(t: AnyTable): string | undefined {
  const scope = t.meta.policy;
  if (scope === 'user' || scope === 'organization' || scope === 'member') return t.meta.ownerColumn;
  return undefined;
}

function judge(tables: AnyTable[]): Verdict[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  return tables.map((t) => {
    if (t.meta.policy === 'reference')
      return { table: t.name, kind: 'reference', column: undefined, reasons: [] };
    const column = distributionColumn(t);
    if (!column)
      return {
        table: t.name,
        kind: 'not shardable',
        column,
        reasons: [`no tenant column (policy: ${t.meta.policy ?? 'none'})`],
      };
    const reasons: string[] = [];
    const config = getTableConfig(t.pg);
    const pk = [
      ...config.columns.filter((c) => c.primary).map((c) => c.name),
      ...config.primaryKeys.flatMap((p) => p.columns.map((c) => c.name)),
    ];
    if (pk.length > 0 && !pk.includes(column))
      reasons.push(`primary key (${pk.join(', ')}) lacks ${column}`);
    for (const u of t.meta.uniques)
      if (!u.columns.includes(column)) reasons.push(`unique ${u.name} lacks ${column}`);
    for (const fk of config.foreignKeys) {
      const ref = fk.reference();
      const target = byName.get(getTableConfig(ref.foreignTable).name);
      if (!target || target.meta.policy === 'reference') continue;
      const local = ref.columns.map((c) => c.name);
      const targetColumn = distributionColumn(target);
      // Co-located only when the key carries the distribution column on both sides.
      const i = local.indexOf(column);
      if (i < 0 || !targetColumn || ref.foreignColumns[i]?.name !== targetColumn)
        reasons.push(`foreign key ${fk.getName()} to ${target.name} not co-located`);
    }
    return {
      table: t.name,
      kind: reasons.length === 0 ? 'distributed' : 'not shardable',
      column,
      reasons,
    };
  });
}

describe('tenant sharding plan', () => {
  it('classifies every table of the schema and docs/scaling.md lists the same verdicts', async () => {
    const tables = kitTables((await import('@exora/db/schema')) as SchemaModule);
    const verdicts = judge(tables);
    expect(verdicts.map((v) => v.table).sort()).toEqual(tables.map((t) => t.name).sort());
    for (const v of verdicts)
      if (v.kind === 'not shardable') expect(v.reasons.length).toBeGreaterThan(0);
    const doc = readFileSync(join(repoRoot(), 'docs', 'scaling.md'), 'utf8');
    const listed = [
      ...doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(distributed|reference|not shardable)\s*\|/gm),
    ]
      .map((m) => `${m[1]} ${m[2]}`)
      .sort();
    if (process.env.SHARDING_PRINT)
      for (const v of verdicts)
        console.log(
          `| \`${v.table}\` | ${v.kind} | ${v.column ? `\`${v.column}\`` : '-'} | ${v.reasons.join('; ') || '-'} |`,
        );
    expect(listed).toEqual(verdicts.map((v) => `${v.table} ${v.kind}`).sort());
  });
});
