/**
 * The query plan of a statement as a repository runs it: the same SQL text, the same parameter
 * values, and on Postgres the same actor settings (so the row-level security policies are part
 * of the plan). For tests and benchmarks that check a query stays on its index.
 */
import { type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../database.ts';
import { ACTOR_FUNCTION, actorArguments } from './actor-sql.ts';
import { type CallContext, compile, fill, type Statement } from './statement.ts';

/**
 * `EXPLAIN` (Postgres) or `EXPLAIN QUERY PLAN` (SQLite) of `stmt` with `params` for `call`'s
 * actor, one line per plan row, run in a transaction that is rolled back.
 */
export async function explain<P extends Record<string, unknown>, R>(
  exec: Executor,
  call: CallContext,
  stmt: Statement<P, R>,
  params: P,
): Promise<string[]> {
  const s = stmt as unknown as Statement<Record<string, unknown>, unknown>;
  const c = compile(s, exec.dialect, exec.db, exec.schema);
  const values = fill(c, exec.dialect, params, call);
  const text = c.sql.split(exec.dialect === 'postgres' ? /\$\d+/ : /\?/);
  const chunks: SQL[] = [sql.raw(exec.dialect === 'postgres' ? 'explain ' : 'explain query plan ')];
  text.forEach((part, i) => {
    chunks.push(sql.raw(part));
    if (i < text.length - 1) chunks.push(sql`${values[i]}`);
  });
  const rollback = new Error('explain: rolled back');
  let lines: string[] = [];
  try {
    await exec.transaction(async (tx) => {
      if (tx.dialect === 'postgres') {
        const [user, organization, service] = actorArguments(call.actor);
        await tx.execute(
          sql`select ${sql.raw(ACTOR_FUNCTION)}(${user}, ${organization}, ${service})`,
        );
      }
      const rows = await tx.execute<Record<string, unknown>>(sql.join(chunks));
      lines = rows.map((r) => String(exec.dialect === 'postgres' ? r['QUERY PLAN'] : r.detail));
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) throw error;
  }
  return lines;
}
