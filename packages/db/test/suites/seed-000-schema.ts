import { type Dialect, introspect, RLS_SETTINGS } from '@exora/core';
import { createTestDatabase, type TestDatabase } from '@exora/core/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/index.ts';
import { agentTemplateReferenceRows } from '../../src/seed.ts';

const USERS = ['users', 'cascade'] as const;

/** Every foreign key of seed 000's tables outside identity and vault, with its ON DELETE. */
const FOREIGN_KEYS: Record<string, Record<string, readonly [string, string]>> = {
  agent_templates: {},
  user_agents: { user_id: USERS, template_id: ['agent_templates', 'restrict'] },
  agent_activities: { 'agent_id,user_id': ['user_agents', 'cascade'], user_id: USERS },
  agent_metrics: { 'agent_id,user_id': ['user_agents', 'cascade'], user_id: USERS },
  workflow_templates: {},
  automation_workflows: { user_id: USERS },
  user_workflow_instances: { user_id: USERS, template_id: ['workflow_templates', 'restrict'] },
  business_discovery_sessions: { user_id: USERS },
  business_profiles: {
    user_id: USERS,
    session_id: ['business_discovery_sessions', 'cascade'],
  },
  workflow_recommendations: {
    user_id: USERS,
    session_id: ['business_discovery_sessions', 'cascade'],
    workflow_template_id: ['workflow_templates', 'set null'],
  },
  entity_types: {},
  entities: { user_id: USERS, entity_type_id: ['entity_types', 'restrict'] },
  user_notifications: { user_id: USERS },
  dashboard_data: { user_id: USERS },
  user_dashboard_preferences: { user_id: USERS },
  user_statistics: { user_id: USERS },
  activity_logs: { user_id: USERS },
};
const REFERENCE = ['agent_templates', 'workflow_templates', 'entity_types'];

/** Seed 000's tables (beside identity and vault): keys, ON DELETE actions, policies, cascades. */
export function seed000SchemaSuite(dialect: Dialect) {
  describe(`seed 000 schema (${dialect})`, () => {
    let test: TestDatabase;
    beforeAll(async () => {
      test = await createTestDatabase(dialect, [schema]);
    });
    afterAll(async () => {
      await test?.dispose();
    });

    it('has every table with its foreign keys and ON DELETE actions', async () => {
      const shape = await introspect(test.db);
      for (const [table, expected] of Object.entries(FOREIGN_KEYS)) {
        const fks = shape.tables[table]?.foreignKeys ?? [];
        const actual = Object.fromEntries(
          fks.map((fk) => [fk.columns.join(','), [fk.refTable, fk.onDelete]]),
        );
        expect({ table, fks: actual }).toEqual({ table, fks: expected });
      }
    });

    // Row-level security is Postgres's; on SQLite the repositories filter by their actor.
    if (dialect === 'postgres')
      it('has row-level security on every table: reference tables readable by all, the rest per user', async () => {
        const shape = await introspect(test.db);
        for (const table of Object.keys(FOREIGN_KEYS)) {
          const t = shape.tables[table]!;
          const names = t.policies.map((p) => p.name).sort();
          expect({ table, rls: t.rlsEnabled, names }).toEqual({
            table,
            rls: true,
            names: REFERENCE.includes(table)
              ? [`${table}_read`, `${table}_service_write`]
              : [`${table}_user_isolation`],
          });
        }
      });

    it('deleting a user deletes their rows in every table; a RESTRICT catalog row in use cannot go', async () => {
      const [user] = await test.db.execute<{ id: string }>(
        sql`insert into users (email) values ('cascade@example.test') returning id`,
      );
      const u = user!.id;
      const one = async (q: ReturnType<typeof sql>) =>
        (await test.db.execute<{ id: string }>(q))[0]!.id;
      const agentTemplate = await one(
        sql`insert into agent_templates (slug, name, category) values ('t', 'T', 'c') returning id`,
      );
      const workflowTemplate = await one(
        sql`insert into workflow_templates (slug, name, category) values ('w', 'W', 'c') returning id`,
      );
      const entityType = await one(
        sql`insert into entity_types (slug, name) values ('e', 'E') returning id`,
      );
      const agent = await one(
        sql`insert into user_agents (user_id, template_id, name) values (${u}, ${agentTemplate}, 'a') returning id`,
      );
      const session = await one(
        sql`insert into business_discovery_sessions (user_id) values (${u}) returning id`,
      );
      for (const q of [
        sql`insert into agent_activities (agent_id, user_id, activity_type) values (${agent}, ${u}, 'run')`,
        sql`insert into agent_metrics (agent_id, user_id, day) values (${agent}, ${u}, '2026-01-01')`,
        sql`insert into automation_workflows (user_id, name) values (${u}, 'x')`,
        sql`insert into user_workflow_instances (user_id, template_id, n8n_workflow_id) values (${u}, ${workflowTemplate}, 'n8n-1')`,
        sql`insert into business_profiles (user_id, session_id) values (${u}, ${session})`,
        sql`insert into workflow_recommendations (user_id, session_id, workflow_template_id, title) values (${u}, ${session}, ${workflowTemplate}, 'r')`,
        sql`insert into entities (user_id, entity_type_id, name) values (${u}, ${entityType}, 'n')`,
        sql`insert into user_notifications (user_id, type, title) values (${u}, 'info', 'hi')`,
        sql`insert into dashboard_data (user_id) values (${u})`,
        sql`insert into user_dashboard_preferences (user_id) values (${u})`,
        sql`insert into activity_logs (user_id, action) values (${u}, 'login')`,
      ]) {
        await test.db.execute(q);
      }
      const userTables = Object.keys(FOREIGN_KEYS).filter((t) => !REFERENCE.includes(t));
      const counts = async () => {
        const out: Record<string, number> = {};
        for (const table of userTables) {
          const [row] = await test.db.execute<{ n: number }>(
            sql`select count(*) as n from ${sql.identifier(table)} where user_id = ${u}`,
          );
          out[table] = Number(row!.n);
        }
        return out;
      };
      expect(Object.values(await counts()).every((n) => n === 1)).toBe(true);

      for (const [table, id] of [
        ['agent_templates', agentTemplate],
        ['workflow_templates', workflowTemplate],
        ['entity_types', entityType],
      ] as const) {
        await expect(
          test.db.execute(sql`delete from ${sql.identifier(table)} where id = ${id}`),
        ).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' });
      }

      await test.db.execute(sql`delete from users where id = ${u}`);
      expect(Object.values(await counts()).every((n) => n === 0)).toBe(true);
      // With no user left, the catalog rows can go.
      await test.db.execute(sql`delete from entity_types where id = ${entityType}`);
      await test.db.execute(sql`delete from agent_templates where id = ${agentTemplate}`);
    });

    it('has six agent templates as reference rows with fixed ids and unique slugs', () => {
      const rows = agentTemplateReferenceRows.rows;
      expect(rows).toHaveLength(6);
      expect(new Set(rows.map((r) => r.slug)).size).toBe(6);
      expect(new Set(rows.map((r) => r.id)).size).toBe(6);
      for (const r of rows) expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]/);
    });
  });
}
