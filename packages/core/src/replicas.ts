/**
 * Read replicas behind a Postgres primary.
 *
 * Statements marked `stale` (lists, feeds, analytics) that run outside a transaction go to a
 * streaming replica, round-robin; everything else, every write and everything inside a
 * transaction or unit, runs on the primary. A replica read is the same pipelined `BEGIN READ
 * ONLY`, `exora_set_actor(...)`, statement, `COMMIT` as on the primary, so row-level security
 * holds there too.
 *
 * Read-your-writes by WAL position: a write of an actor sends `pg_current_wal_insert_lsn()`
 * after its `COMMIT`, in the same round trip, and that actor's stale reads go only to a replica
 * known to have replayed that position (else to the primary). What a replica has replayed, and
 * how far behind it is, is read by a check every `checkIntervalMs`, off the call path: a stale
 * read costs a map lookup, never a round trip more. A replica that does not answer, is not in
 * recovery or lags past `maxLagMs` is skipped until a check finds it well; a replica read that
 * fails on the connection is run again on the primary, never an error for the caller.
 */
import { sql } from 'drizzle-orm';
import type { Actor } from './actor.ts';
import type { Database } from './database.ts';
import {
  ConfigurationError,
  ConnectionError,
  DatabaseBusyError,
  QueryError,
  SchemaMismatchError,
} from './errors.ts';
import type { AnyTable } from './kit/table.ts';
import { openPostgres, type PostgresPoolOptions } from './postgres.ts';

export interface ReplicaOptions {
  /** The replicas' `postgres://` URLs (hot standbys of the primary). */
  readonly urls: readonly string[];
  /** A replica further behind the primary than this is skipped (default 5000 ms). */
  readonly maxLagMs?: number;
  /** How often the replicas' state is read, off the call path (default 250 ms). */
  readonly checkIntervalMs?: number;
}

/** What the last check found of one replica. */
export interface ReplicaStatus {
  /** The URL without its password. */
  readonly url: string;
  /** Whether stale reads go to it now. */
  readonly usable: boolean;
  /** `unknown` before its first check; `down`: it did not answer; `primary`: not in recovery. */
  readonly state: 'unknown' | 'ok' | 'lagging' | 'down' | 'primary';
  /** How far its replay is behind the primary's WAL, to one check interval; null if unknown. */
  readonly lagMs: number | null;
  /** Reads it served since start. */
  readonly reads: number;
  /** Reads that failed on it (connection lost, conflict with recovery) and the primary served. */
  readonly failovers: number;
}

/** The replicas of a database opened with some. */
export interface ReplicaSet {
  status(): readonly ReplicaStatus[];
  /** Reads every replica's state now (and waits for it); never throws. */
  check(): Promise<void>;
}

interface Replica {
  readonly db: Database;
  state: ReplicaStatus['state'];
  usable: boolean;
  /** The replay position the last check read (a lower bound of where it is now); -1 unknown. */
  replay: number;
  lagMs: number | null;
  reads: number;
  failovers: number;
}

/** Actors tracked for read-your-writes at most; past it the oldest give way (see `floor`). */
const MAX_TRACKED = 100_000;

/** `X/Y` (two hexadecimal halves) as a number: exact below 2^53 bytes of WAL. */
function parseLsn(lsn: string): number {
  const slash = lsn.indexOf('/');
  return (
    Number.parseInt(lsn.slice(0, slash), 16) * 2 ** 32 + Number.parseInt(lsn.slice(slash + 1), 16)
  );
}

const actorKey = (actor: Actor) =>
  actor.kind === 'user' ? actor.userId : `service:${actor.reason}`;

/** Failures a replica may have where the primary would not: the read is run there instead. */
const replicaFault = (error: unknown) =>
  error instanceof ConnectionError ||
  error instanceof DatabaseBusyError || // a query cancelled by a conflict with recovery
  error instanceof SchemaMismatchError || // a replica not yet at a migration the primary has
  error instanceof ConfigurationError ||
  error instanceof QueryError;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionError('check timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Opens the primary and its replicas as one database (see the top of this file). */
export function openReplicated(
  url: string,
  safeUrl: string,
  pool: PostgresPoolOptions,
  tables: readonly AnyTable[],
  options: ReplicaOptions,
  /** Each replica URL without its password, in the order of `options.urls`. */
  safeUrls: readonly string[],
): Database {
  const maxLagMs = options.maxLagMs ?? 5000;
  const interval = options.checkIntervalMs ?? 250;
  const timeoutMs = Math.max(1000, 4 * interval);

  /** The WAL position of each actor's latest write not yet replayed everywhere. */
  const written = new Map<string, number>();
  /** A position every replica must have replayed to serve anyone: raised as entries go. */
  let floor = 0;
  const noteWrite = (actor: Actor, lsn: string) => {
    const key = actorKey(actor);
    const at = parseLsn(lsn);
    const had = written.get(key);
    if (had === undefined || at > had) written.set(key, at);
    if (written.size > MAX_TRACKED) {
      const [oldest, position] = written.entries().next().value as [string, number];
      written.delete(oldest);
      if (position > floor) floor = position;
    }
  };

  const primary = openPostgres(url, safeUrl, pool, tables, noteWrite);
  const replicas: Replica[] = options.urls.map((u, i) => ({
    db: openPostgres(u, safeUrls[i]!, pool, tables),
    state: 'unknown',
    usable: false,
    replay: -1,
    lagMs: null,
    reads: 0,
    failovers: 0,
  }));

  let next = 0;
  /** A usable replica that has replayed the actor's latest write, round-robin. */
  function pick(actor: Actor): Replica | undefined {
    let need = floor;
    if (written.size > 0) {
      const at = written.get(actorKey(actor));
      if (at !== undefined && at > need) need = at;
    }
    const n = replicas.length;
    for (let i = 0; i < n; i++) {
      const at = (next + i) % n;
      const r = replicas[at]!;
      if (r.usable && r.replay >= need) {
        next = (at + 1) % n;
        return r;
      }
    }
    return undefined;
  }

  /** The primary's WAL position at each check, oldest first, back to just past the lag limit. */
  const samples: { at: number; lsn: number }[] = [];
  /** How long ago the primary had already written past `replay` (0: nothing not replayed). */
  function lagOf(replay: number, now: number): number | null {
    if (samples.length === 0) return null;
    for (const s of samples) if (s.lsn > replay) return now - s.at;
    return 0;
  }

  async function checkOnce(): Promise<void> {
    const now = Date.now();
    try {
      const [row] = await within(
        primary.execute<{ lsn: string }>(sql`select pg_current_wal_lsn()::text as lsn`),
        timeoutMs,
      );
      if (row) samples.push({ at: now, lsn: parseLsn(row.lsn) });
      // Kept: one sample older than the lag limit (a replica behind it lags past the limit,
      // however far apart the checks ran), and every one since.
      while (samples.length > 1 && now - samples[1]!.at > maxLagMs) samples.shift();
    } catch {
      // The primary's own calls report its failures; the lag is then judged on older samples.
    }
    await Promise.all(
      replicas.map(async (r) => {
        try {
          const [row] = await within(
            r.db.execute<{ recovery: boolean; lsn: string | null }>(
              sql`select pg_is_in_recovery() as recovery, pg_last_wal_replay_lsn()::text as lsn`,
            ),
            timeoutMs,
          );
          if (!row?.recovery || row.lsn === null) {
            r.state = 'primary'; // promoted, or pointed at a primary: its data is not ours
            r.usable = false;
            return;
          }
          r.replay = parseLsn(row.lsn);
          r.lagMs = lagOf(r.replay, now);
          r.state = r.lagMs !== null && r.lagMs > maxLagMs ? 'lagging' : 'ok';
          r.usable = r.state === 'ok';
        } catch {
          r.state = 'down';
          r.usable = false;
        }
      }),
    );
    // Forget writes every usable replica has replayed; a replica usable again later must have
    // replayed them too (the floor).
    let min = Number.POSITIVE_INFINITY;
    for (const r of replicas) if (r.usable && r.replay < min) min = r.replay;
    if (min === Number.POSITIVE_INFINITY) return;
    for (const [key, at] of written) {
      if (at <= min) {
        written.delete(key);
        if (at > floor) floor = at;
      }
    }
  }

  let running: Promise<void> | undefined;
  const check = (): Promise<void> => {
    if (!running) running = checkOnce().finally(() => (running = undefined));
    return running;
  };
  let closed = false;
  const timer = setInterval(() => {
    if (!closed) void check();
  }, interval);
  timer.unref();
  void check();

  async function readOn(
    r: Replica,
    call: Parameters<Database['run']>[0],
    stmt: Parameters<Database['run']>[1],
    params: Record<string, unknown>,
  ): Promise<unknown> {
    try {
      const result = await r.db.run(call, stmt, params);
      r.reads++;
      return result;
    } catch (error) {
      if (!replicaFault(error)) throw error;
      r.failovers++;
      if (error instanceof ConnectionError) {
        r.state = 'down';
        r.usable = false;
      }
      return primary.run(call, stmt, params);
    }
  }

  return {
    dialect: 'postgres',
    schema: primary.schema,
    db: primary.db,
    inTransaction: false,
    safeUrl: primary.safeUrl,
    table: (t) => t.pg,
    run(call, stmt, params) {
      if (stmt.options.stale) {
        const r = pick(call.actor);
        if (r !== undefined) return readOn(r, call, stmt as never, params) as never;
      }
      return primary.run(call, stmt, params);
    },
    runMany: (call, stmt, rows) => primary.runMany(call, stmt, rows),
    unit: (call, mode, fn) => primary.unit(call, mode, fn),
    transaction: (fn) => primary.transaction(fn),
    execute: (query) => primary.execute(query),
    setLocal: (settings) => primary.setLocal(settings),
    ping: () => primary.ping(),
    replicas: {
      status: () =>
        replicas.map((r) => ({
          url: r.db.safeUrl,
          usable: r.usable,
          state: r.state,
          lagMs: r.lagMs,
          reads: r.reads,
          failovers: r.failovers,
        })),
      check: async () => {
        await running;
        await check();
      },
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
      await Promise.all([primary.close(), ...replicas.map((r) => r.db.close())]);
    },
  };
}
