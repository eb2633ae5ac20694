/**
 * Tenant isolation through raw SQL as the application role (Postgres): what code that forgets a
 * filter, or a raw Drizzle query inside a user's transaction, would send. Each user sets the
 * actor with `exora_set_actor` and then selects, updates, deletes and inserts on every
 * tenant-owned table of the schema at random; a model of who owns each row says what every
 * statement must return. One round trip per operation (a simple-protocol query string, whose
 * implicit transaction holds the actor's settings).
 */
import { schema } from '@exora/db';
import fc from 'fast-check';
import postgres from 'postgres';
import { expect } from 'vitest';

export interface RawActor {
  id: string;
  organizationId: string;
  isAdmin: boolean;
}

type Scope = 'user' | 'organization' | 'member';

interface TenantTable {
  name: string;
  scope: Scope;
  /** The owner column: a user id (user, member) or an organization id (organization). */
  owner: string;
  /** The column an update would move a row to another tenant with. */
  move: string;
  /** Only the organization's admins write it. */
  adminWrites: boolean;
}

interface Row {
  /** The owning user (user scope; the row itself for `users`) and organization. */
  user: string | null;
  org: string | null;
}

/** What a seed or planted row of each tenant-owned table is made of, for an owner. */
interface Owner {
  user: string;
  org: string;
  agent: string | undefined;
  session: string | undefined;
  /** A recorded workflow of the organization (the recorder's child rows hang off it). */
  recording: string | undefined;
  run: string | undefined;
  report: string | undefined;
  insight: string | undefined;
  project: string | undefined;
  step: string | undefined;
  conversation: string | undefined;
  execution: string | undefined;
  n: number;
}
interface Catalog {
  agentTemplate: string;
  workflowTemplate: string;
  entityType: string;
}

const lit = (value: string) => `'${value.replaceAll("'", "''")}'`;
const day = (n: number) =>
  new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);

/**
 * An INSERT of one row owned by `o`, per table. `organizations` has none: any user may create
 * an organization (it belongs to no one until its creator joins it).
 */
function recipes(c: Catalog): Record<string, ((o: Owner) => string) | null> {
  const u = (o: Owner) => lit(o.user);
  return {
    organizations: null,
    users: (o) =>
      `insert into users (email, organization_id) values ('raw-${o.n}@example.test', ${lit(o.org)})`,
    subdomain_configs: (o) =>
      `insert into subdomain_configs (organization_id, subdomain) values (${lit(o.org)}, 'raw-${o.n}')`,
    tool_executions: (o) =>
      `insert into tool_executions (project_id, user_id, agent_log_id, tool_name, status) values (${lit(o.project!)}, ${u(o)}, ${lit(o.step!)}, 'raw', 'success')`,
    user_agents: (o) =>
      `insert into user_agents (user_id, template_id, name) values (${u(o)}, ${lit(c.agentTemplate)}, 'agent ${o.n}')`,
    agent_activities: (o) =>
      `insert into agent_activities (agent_id, user_id, activity_type) values (${lit(o.agent!)}, ${u(o)}, 'run')`,
    agent_metrics: (o) =>
      `insert into agent_metrics (agent_id, user_id, day) values (${lit(o.agent!)}, ${u(o)}, '${day(o.n)}')`,
    activity_logs: (o) => `insert into activity_logs (user_id, action) values (${u(o)}, 'raw')`,
    agent_logs: (o) =>
      `insert into agent_logs (project_id, user_id, step_number, agent_name, started_at) values (${lit(o.project!)}, ${u(o)}, 1, 'raw ${o.n}', now())`,
    api_keys: (o) =>
      `insert into api_keys (user_id, name, provider, encrypted_key, key_hash, masked_key) values (${u(o)}, 'raw ${o.n}', 'openai', 'x', 'raw-hash-${o.n}', 'raw...${o.n}')`,
    automation_workflows: (o) =>
      `insert into automation_workflows (user_id, name) values (${u(o)}, 'raw ${o.n}')`,
    business_discovery_sessions: (o) =>
      `insert into business_discovery_sessions (user_id) values (${u(o)})`,
    chat_sessions: (o) =>
      `insert into chat_sessions (user_id, title) values (${u(o)}, 'raw ${o.n}')`,
    cli_sessions: (o) =>
      `insert into cli_sessions (user_id, token_hash, machine_name) values (${u(o)}, 'raw-hash-${o.n}', 'raw')`,
    deployment_logs: (o) =>
      `insert into deployment_logs (project_id, user_id, provider) values (${lit(o.project!)}, ${u(o)}, 'raw')`,
    business_profiles: (o) =>
      `insert into business_profiles (user_id, session_id) values (${u(o)}, ${lit(o.session!)})`,
    credentials: (o) =>
      `insert into credentials (user_id, platform, encrypted_data) values (${u(o)}, 'raw', 'x')`,
    dashboard_data: (o) => `insert into dashboard_data (user_id) values (${u(o)})`,
    entities: (o) =>
      `insert into entities (user_id, entity_type_id, name) values (${u(o)}, ${lit(c.entityType)}, 'raw ${o.n}')`,
    integrations: (o) =>
      `insert into integrations (user_id, provider, name) values (${u(o)}, 'raw', 'raw ${o.n}')`,
    oauth_tokens: (o) =>
      `insert into oauth_tokens (user_id, provider, access_token) values (${u(o)}, 'raw-${o.n}', 'x')`,
    projects: (o) =>
      `insert into projects (user_id, name, total_steps) values (${u(o)}, 'raw ${o.n}', 14)`,
    prompts: (o) =>
      `insert into prompts (user_id, name, content) values (${u(o)}, 'raw ${o.n}', 'raw')`,
    setup_progress: (o) => `insert into setup_progress (user_id) values (${u(o)})`,
    user_dashboard_preferences: (o) =>
      `insert into user_dashboard_preferences (user_id) values (${u(o)})`,
    user_notifications: (o) =>
      `insert into user_notifications (user_id, type, title) values (${u(o)}, 'info', 'raw ${o.n}')`,
    user_profiles: (o) => `insert into user_profiles (user_id) values (${u(o)})`,
    user_statistics: (o) => `insert into user_statistics (user_id) values (${u(o)})`,
    user_workflow_instances: (o) =>
      `insert into user_workflow_instances (user_id, template_id, n8n_workflow_id) values (${u(o)}, ${lit(c.workflowTemplate)}, 'raw-${o.n}')`,
    workflows: (o) =>
      `insert into workflows (organization_id, name) values (${lit(o.org)}, 'raw ${o.n}')`,
    steps: (o) =>
      `insert into steps (organization_id, workflow_id, step_number, action_type) values (${lit(o.org)}, ${lit(o.recording!)}, ${o.n}, 'click')`,
    screenshots: (o) =>
      `insert into screenshots (organization_id, hash, storage_key, size_bytes) values (${lit(o.org)}, 'raw-hash-${o.n}', 'raw/${o.n}', 1)`,
    health_logs: (o) =>
      `insert into health_logs (organization_id, workflow_id, status) values (${lit(o.org)}, ${lit(o.recording!)}, 'success')`,
    notifications: (o) =>
      `insert into notifications (organization_id, workflow_id, type, title, message) values (${lit(o.org)}, ${lit(o.recording!)}, 'raw', 'raw ${o.n}', 'raw')`,
    workflow_recommendations: (o) =>
      `insert into workflow_recommendations (user_id, title) values (${u(o)}, 'raw ${o.n}')`,
    workflow_runs: (o) => `insert into workflow_runs (user_id) values (${u(o)})`,
    schedules: (o) =>
      `insert into schedules (user_id, workflow_run_id, cron, next_run) values (${u(o)}, ${lit(o.run!)}, '* * * * *', now())`,
    task_logs: (o) => `insert into task_logs (user_id, task_type) values (${u(o)}, 'raw')`,
    reports: (o) =>
      `insert into reports (user_id, vendor, report_type, report_date) values (${u(o)}, 'raw', 'raw', now())`,
    insights: (o) =>
      `insert into insights (report_id, user_id, insight_type) values (${lit(o.report!)}, ${u(o)}, 'raw')`,
    insight_distributions: (o) =>
      `insert into insight_distributions (insight_id, user_id, recipient_type, recipient_id, distribution_method) values (${lit(o.insight!)}, ${u(o)}, 'raw', 'raw ${o.n}', 'email')`,
    conversations: (o) => `insert into conversations (user_id) values (${u(o)})`,
    messages: (o) =>
      `insert into messages (conversation_id, user_id, sender_type, content) values (${lit(o.conversation!)}, ${u(o)}, 'user', 'raw ${o.n}')`,
    leads: (o) =>
      `insert into leads (name, assigned_to, services_interested) values ('raw ${o.n}', ${u(o)}, '{seo}')`,
    workflow_executions: (o) =>
      `insert into workflow_executions (workflow_type, initiated_by) values ('raw', ${u(o)})`,
    agent_messages: (o) =>
      `insert into agent_messages (workflow_execution_id, user_id, agent_name, message_type) values (${lit(o.execution!)}, ${u(o)}, 'raw', 'input')`,
    emails: (o) =>
      `insert into emails (user_id, subject, body, recipients) values (${u(o)}, 'raw', 'raw', '[]')`,
  };
}

/** Every table of the schema that belongs to a user or an organization. */
function tenantTables(adminWrites: Set<string>): TenantTable[] {
  const out: TenantTable[] = [];
  for (const t of Object.values(schema) as { name?: string; meta?: Record<string, unknown> }[]) {
    const meta = t?.meta as
      | { policy?: string; ownerColumn?: string; organizationKey?: string }
      | undefined;
    if (!meta?.policy || !['user', 'organization', 'member'].includes(meta.policy)) continue;
    const scope = meta.policy as Scope;
    const owner = meta.ownerColumn!;
    out.push({
      name: t.name!,
      scope,
      owner,
      move: scope === 'member' ? 'organization_id' : owner,
      adminWrites: adminWrites.has(t.name!),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The columns of a table that a trigger sets to now on every update (a `touch` writes a value
 * onto itself and still moves them), as a Postgres `text[]` to subtract from a row's JSON.
 */
function touched(name: string): string {
  const table = (Object.values(schema) as { name?: string; meta?: Record<string, unknown> }[]).find(
    (t) => t?.name === name && t.meta,
  );
  const columns = (table?.meta?.columns ?? []) as {
    name: string;
    meta: { touchOnUpdate?: boolean };
  }[];
  const names = columns.filter((c) => c.meta.touchOnUpdate).map((c) => lit(c.name));
  return `array[${names.join(', ')}]::text[]`;
}

export interface RawWalkResult {
  operations: number;
  tables: number;
  /** Deadlocks Postgres resolved by aborting an operation, which was then retried. */
  deadlocks: number;
  ms: number;
}

/**
 * Runs `operations` random raw-SQL operations by `actors` on every tenant-owned table and checks
 * each against the ownership model; after each run of the property the whole database (every
 * row of every tenant table, but for the columns the database moves on every update: `updated_at`,
 * `last_seen`) must be what it was.
 */
export async function rawIsolationWalk(
  url: string,
  actors: RawActor[],
  operations: number,
  seed: number,
): Promise<RawWalkResult> {
  const sql = postgres(url, { max: actors.length + 1, onnotice: () => {} });
  const service = `select exora_set_actor(null, null, true);`;
  const asService = async <T extends object>(statement: string) => {
    const results = (await sql.unsafe(`${service} ${statement}`).simple()) as unknown as T[][];
    return results[1]!;
  };
  try {
    const adminWrites = new Set(
      (
        await sql<{ tablename: string }[]>`
          select tablename from pg_policies where policyname like '%\\_admin\\_update'`
      ).map((r) => r.tablename),
    );
    const tables = tenantTables(adminWrites);
    const n = { next: 0 };
    const one = async (statement: string) =>
      (await asService<{ id: string }>(`${statement} returning id::text as id`))[0]!.id;
    // A catalog row of each kind: one already there (the seeded templates), else a new one.
    const catalogRow = async (table: string, insert: string) =>
      (
        await asService<{ id: string }>(`select id::text as id from ${table} order by id limit 1`)
      )[0]?.id ?? (await one(insert));
    const catalog: Catalog = {
      agentTemplate: await catalogRow(
        'agent_templates',
        `insert into agent_templates (slug, name, category) values ('raw-walk', 'Raw', 'raw')`,
      ),
      workflowTemplate: await catalogRow(
        'workflow_templates',
        `insert into workflow_templates (slug, name, category) values ('raw-walk', 'Raw', 'raw')`,
      ),
      entityType: await catalogRow(
        'entity_types',
        `insert into entity_types (slug, name) values ('raw-walk', 'Raw')`,
      ),
    };
    const recipe = recipes(catalog);
    // A new tenant-owned table fails here until it has a recipe (and so is walked).
    expect(tables.map((t) => t.name).filter((name) => !(name in recipe))).toEqual([]);

    // Each actor's parent rows, then one row of every table (one already there is fine).
    const owners = new Map<string, Owner>();
    for (const a of actors) {
      const o: Owner = {
        user: a.id,
        org: a.organizationId,
        agent: undefined,
        session: undefined,
        recording: undefined,
        run: undefined,
        report: undefined,
        insight: undefined,
        project: undefined,
        step: undefined,
        conversation: undefined,
        execution: undefined,
        n: 0,
      };
      o.n = ++n.next;
      o.agent = await one(recipe.user_agents!(o));
      o.session = await one(recipe.business_discovery_sessions!(o));
      o.recording = await one(recipe.workflows!(o));
      o.run = await one(recipe.workflow_runs!(o));
      o.report = await one(recipe.reports!(o));
      o.insight = await one(recipe.insights!(o));
      o.project = await one(recipe.projects!(o));
      o.step = await one(recipe.agent_logs!(o));
      o.conversation = await one(recipe.conversations!(o));
      o.execution = await one(recipe.workflow_executions!(o));
      owners.set(a.id, o);
    }
    for (const a of actors) {
      for (const t of tables) {
        const make = recipe[t.name];
        if (!make) continue;
        const o = { ...owners.get(a.id)!, n: ++n.next };
        await sql
          .unsafe(`${service} ${make(o)}`)
          .simple()
          .catch((e: { code?: string }) => {
            if (e.code !== '23505') throw e; // the actor's one row of this table exists
          });
      }
    }

    /** Who owns each row of each table, read as a service. */
    const rows = new Map<string, Map<string, Row>>();
    const digest = async () => {
      const out = new Map<string, string>();
      for (const t of tables) {
        const found = await asService<{ id: string; d: string }>(
          `select id::text as id, md5((to_jsonb(t) - ${touched(t.name)})::text) as d from ${t.name} t`,
        );
        for (const r of found) out.set(`${t.name}/${r.id}`, r.d);
      }
      return out;
    };
    for (const t of tables) {
      const org = t.scope === 'member' ? 'organization_id::text' : 'null';
      const found = await asService<{ id: string; owner: string | null; org: string | null }>(
        `select id::text as id, ${t.owner}::text as owner, ${org} as org from ${t.name}`,
      );
      rows.set(
        t.name,
        new Map(
          found.map((r) => [
            r.id,
            t.scope === 'organization'
              ? { user: null, org: r.owner }
              : { user: r.owner, org: r.org },
          ]),
        ),
      );
    }
    for (const t of tables) {
      for (const o of [
        ...new Set(actors.map((a) => (t.scope === 'organization' ? a.organizationId : a.id))),
      ]) {
        const owned = [...rows.get(t.name)!.values()].some((r) =>
          t.scope === 'organization' ? r.org === o : r.user === o,
        );
        expect({ table: t.name, owner: o, owned }).toEqual({
          table: t.name,
          owner: o,
          owned: true,
        });
      }
    }
    const before = await digest();

    const visible = (me: RawActor, t: TenantTable, r: Row, id: string) =>
      t.scope === 'user'
        ? r.user === me.id
        : t.scope === 'organization'
          ? r.org === me.organizationId
          : id === me.id || r.org === me.organizationId;
    const writable = (me: RawActor, t: TenantTable, r: Row, id: string) =>
      visible(me, t, r, id) && (!t.adminWrites || me.isAdmin);
    const ids = (me: RawActor, t: TenantTable, test: typeof visible) =>
      [...rows.get(t.name)!]
        .filter(([id, r]) => test(me, t, r, id))
        .map(([id]) => id)
        .sort();
    const others = (me: RawActor, t: TenantTable) =>
      [...rows.get(t.name)!].filter(([id, r]) => !visible(me, t, r, id)).map(([id]) => id);
    /** Another tenant's owner value for the table's owner (or move) column. */
    const foreignOwner = (me: RawActor, t: TenantTable, pick: number) => {
      const victims = actors.filter((a) => a.organizationId !== me.organizationId);
      const v = victims[pick % victims.length]!;
      return { victim: v, value: t.scope === 'user' ? v.id : v.organizationId };
    };

    const kinds = [
      'select',
      'peek',
      'touch',
      'touchOther',
      'deleteOther',
      'deleteOwn',
      'move',
      'plant',
    ] as const;
    type Kind = (typeof kinds)[number];
    let done = 0;
    let deadlocks = 0;

    /** One operation in one round trip on the actor's connection; checks what came back. */
    const perform = async (
      conn: postgres.ReservedSql,
      me: RawActor,
      t: TenantTable,
      kind: Kind,
      pick: number,
    ) => {
      done++;
      const actor = `select exora_set_actor(${lit(me.id)}, null, false);`;
      const run = async (statement: string, rollback = false) => {
        const text = rollback
          ? `begin; ${actor} ${statement}; rollback;`
          : `${actor} ${statement};`;
        for (let attempt = 1; ; attempt++) {
          try {
            const results = (await conn.unsafe(text).simple()) as unknown as { id: string }[][];
            const out = results[rollback ? 2 : 1]!;
            return { ids: out.map((r) => r.id).sort(), code: undefined as string | undefined };
          } catch (error) {
            if (rollback) await conn.unsafe('rollback');
            const code = (error as { code?: string }).code;
            if (!code) throw error;
            // Members of one organization may lock the same rows in another order (a cascade
            // against a statistics trigger): Postgres picks a victim, which retries, as an
            // application would. Isolation is about what a statement that runs returns.
            if (code === '40P01' && attempt < 10) {
              deadlocks++;
              continue;
            }
            return { ids: [] as string[], code };
          }
        }
      };
      const other = others(me, t);
      const victim = other.length > 0 ? lit(other[pick % other.length]!) : undefined;
      const own = ids(me, t, writable);
      const mine = own.length > 0 ? lit(own[pick % own.length]!) : undefined;
      const ret = 'returning id::text as id';
      const tag = { table: t.name, kind, actor: me.id };
      switch (kind) {
        case 'select':
          expect({ ...tag, ...(await run(`select id::text as id from ${t.name}`)) }).toEqual({
            ...tag,
            ids: ids(me, t, visible),
            code: undefined,
          });
          break;
        case 'peek':
          if (!victim) break;
          expect({
            ...tag,
            ...(await run(`select id::text as id from ${t.name} where id = ${victim}`)),
          }).toEqual({ ...tag, ids: [], code: undefined });
          break;
        case 'touch':
          expect({
            ...tag,
            ...(await run(`update ${t.name} set ${t.owner} = ${t.owner} ${ret}`)),
          }).toEqual({ ...tag, ids: ids(me, t, writable), code: undefined });
          break;
        case 'touchOther':
          if (!victim) break;
          expect({
            ...tag,
            ...(await run(
              `update ${t.name} set ${t.owner} = ${t.owner} where id = ${victim} ${ret}`,
            )),
          }).toEqual({ ...tag, ids: [], code: undefined });
          break;
        case 'deleteOther':
          if (!victim) break;
          expect({
            ...tag,
            ...(await run(`delete from ${t.name} where id = ${victim} ${ret}`)),
          }).toEqual({ ...tag, ids: [], code: undefined });
          break;
        case 'deleteOwn': {
          if (!mine) break;
          const out = await run(`delete from ${t.name} where id = ${mine} ${ret}`, true);
          // A row still referenced by a RESTRICT key may not go; otherwise exactly that row.
          if (out.code !== '23503') {
            expect({ ...tag, ...out }).toEqual({
              ...tag,
              ids: [mine.slice(1, -1)],
              code: undefined,
            });
          }
          break;
        }
        case 'move': {
          if (!mine) break;
          const { value } = foreignOwner(me, t, pick);
          const out = await run(
            `update ${t.name} set ${t.move} = ${lit(value)} where id = ${mine} ${ret}`,
            true,
          );
          expect({ ...tag, ...out }).toEqual({ ...tag, ids: [], code: '42501' });
          break;
        }
        case 'plant': {
          const make = recipe[t.name];
          if (!make) break;
          const { victim: v } = foreignOwner(me, t, pick);
          const o = { ...owners.get(v.id)!, n: ++n.next };
          expect({ ...tag, ...(await run(make(o), true)) }).toEqual({
            ...tag,
            ids: [],
            code: '42501',
          });
          break;
        }
      }
    };

    const started = performance.now();
    const conns = await Promise.all(actors.map(() => sql.reserve()));
    const RUN = 500;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              actor: fc.nat({ max: actors.length - 1 }),
              table: fc.nat({ max: tables.length - 1 }),
              kind: fc.constantFrom(...kinds),
              pick: fc.nat(),
            }),
            { minLength: RUN, maxLength: RUN },
          ),
          async (steps) => {
            // The actors at once, each in order; the first failure stops them all.
            let stop = false;
            const chains = await Promise.allSettled(
              actors.map(async (me, i) => {
                for (const s of steps) {
                  if (stop) return;
                  if (s.actor !== i) continue;
                  try {
                    await perform(conns[i]!, me, tables[s.table]!, s.kind, s.pick);
                  } catch (error) {
                    stop = true;
                    throw error;
                  }
                }
              }),
            );
            const failed = chains.find((c) => c.status === 'rejected');
            if (failed) throw failed.reason;
            // Nothing committed changed any row (every write that could was rolled back or
            // wrote a value onto itself).
            const after = await digest();
            const changed = [...before].filter(([k, d]) => after.get(k) !== d).map(([k]) => k);
            const added = [...after.keys()].filter((k) => !before.has(k));
            expect({ changed, added }).toEqual({ changed: [], added: [] });
          },
        ),
        {
          numRuns: Math.ceil(operations / RUN),
          seed,
          endOnFailure: true,
          // The failed check says what went wrong; the 500 steps of the run would bury it.
          reporter: (details) => {
            if (details.failed) throw details.errorInstance;
          },
        },
      );
    } finally {
      for (const c of conns) c.release();
    }
    return {
      operations: done,
      tables: tables.length,
      deadlocks,
      ms: Math.round(performance.now() - started),
    };
  } finally {
    await sql.end();
  }
}
