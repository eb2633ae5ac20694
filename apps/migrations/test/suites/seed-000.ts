/**
 * Seed 000 end to end, on a database pushed from `drizzle/` (its triggers and reference rows
 * included), through `createDb` (Postgres: as the application role).
 */
import type { Dialect } from '@exora/core';
import { type ExoraDb, MissingOAuthGrantError, type PublicUser, schema } from '@exora/db';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asServiceTx, type Platform, platform } from './platform.ts';

const TEMPLATE_SLUGS = [
  'appointment-scheduler',
  'customer-support',
  'data-analyst',
  'email-assistant',
  'lead-qualifier',
  'social-media-manager',
];

export function seed000Suite(dialect: Dialect) {
  describe(`seed 000: agents, workflows, discovery, notifications, insights (${dialect})`, () => {
    let p: Platform;
    let db: ExoraDb;
    let ada: PublicUser;
    let bob: PublicUser;
    let n = 0;
    const newUser = () =>
      db.asService('signup').users.create({ email: `s000-${n++}-${Date.now()}@example.test` });

    beforeAll(async () => {
      p = await platform(dialect);
      db = p.db;
      ada = await newUser();
      bob = await newUser();
    });
    afterAll(async () => {
      await p?.dispose();
    });

    /** Runs raw SQL as a service (what a maintenance job would do). */
    const asService = (query: ReturnType<typeof sql>) => asServiceTx(db, (tx) => tx.execute(query));

    it('holds the six agent templates, with stable slugs, readable by every user', async () => {
      const templates = await db.forUser(ada.id).agentTemplates.list();
      expect(templates.map((t) => t.slug).sort()).toEqual(TEMPLATE_SLUGS);
      expect(new Set(templates.map((t) => t.id)).size).toBe(6);
    });

    it('creates, pauses, resumes and archives agents; others see none of it', async () => {
      const me = db.forUser(ada.id);
      const [template] = await me.agentTemplates.list();
      const agent = await me.userAgents.createFromTemplate({ templateId: template!.id });
      expect(agent).toMatchObject({
        userId: ada.id,
        templateId: template!.id,
        name: template!.name,
        status: 'active',
      });
      const named = await me.userAgents.createFromTemplate({
        templateId: template!.id,
        name: 'Mine',
        config: { tone: 'warm' },
      });
      expect(named).toMatchObject({ name: 'Mine', config: { tone: 'warm' } });
      expect((await me.userAgents.pause(agent.id)).status).toBe('paused');
      await expect(me.userAgents.pause(agent.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect((await me.userAgents.resume(agent.id)).status).toBe('active');
      const archived = await me.userAgents.archive(agent.id);
      expect(archived.status).toBe('archived');
      expect(archived.archivedAt).toBeInstanceOf(Date);
      await expect(me.userAgents.resume(agent.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect((await me.userAgents.list()).map((a) => a.id)).toEqual([named.id]);
      expect((await me.userAgents.list({ includeArchived: true })).length).toBe(2);
      // Bob: nothing of Ada's, and no way to touch it.
      const them = db.forUser(bob.id);
      expect(await them.userAgents.list({ includeArchived: true })).toEqual([]);
      await expect(them.userAgents.pause(named.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        them.agentActivities.record({ agentId: named.id, activityType: 'run' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        me.userAgents.createFromTemplate({ templateId: crypto.randomUUID() }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('records activities and rolls metrics up per agent and day, exact under concurrent writers', async () => {
      const me = db.forUser(ada.id);
      const [template] = await me.agentTemplates.list();
      const agent = await me.userAgents.createFromTemplate({ templateId: template!.id });
      const activity = await me.agentActivities.record({
        agentId: agent.id,
        activityType: 'email.sent',
        details: { to: 'someone' },
        durationMs: 120,
      });
      expect(activity).toMatchObject({
        agentId: agent.id,
        userId: ada.id,
        status: 'success',
        durationMs: 120,
      });
      expect((await me.agentActivities.listForAgent(agent.id)).map((a) => a.id)).toEqual([
        activity.id,
      ]);
      // Two writers (a user and a service job) adding at once, 40 times.
      const writers = [me, db.asService('metrics job')];
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          writers[i % 2]!.agentMetrics.add(
            {
              agentId: agent.id,
              day: '2026-11-20',
              tasksCompleted: 1,
              tasksFailed: i % 4 === 0 ? 1 : 0,
              durationMs: 10,
            },
            i % 2 === 1 ? ada.id : undefined,
          ),
        ),
      );
      const [day] = await me.agentMetrics.list(agent.id, { from: '2026-11-01', to: '2026-11-30' });
      expect(day).toMatchObject({
        day: '2026-11-20',
        tasksCompleted: 40,
        tasksFailed: 10,
        totalDurationMs: 400,
      });
      await expect(
        me.agentMetrics.add({ agentId: agent.id, day: '2026-13-01' }),
      ).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(
        db.forUser(bob.id).agentMetrics.add({ agentId: agent.id, tasksCompleted: 1 }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('keeps user_statistics exact over thousands of random agent and activity changes', async () => {
      const users = [await newUser(), await newUser(), await newUser()];
      const templates = await db.forUser(users[0]!.id).agentTemplates.list();
      const agents: { id: string; userId: string }[] = [];
      const activities: string[] = [];
      const statuses = ['active', 'paused', 'archived'] as const;
      const op = fc.oneof(
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant('agent' as const),
            user: fc.nat(2),
            t: fc.nat(5),
          }),
        },
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant('activity' as const),
            a: fc.nat(),
            s: fc.nat(2),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant('status' as const), a: fc.nat(), s: fc.nat(2) }),
        },
        {
          weight: 2,
          arbitrary: fc.record({ kind: fc.constant('flip' as const), x: fc.nat(), s: fc.nat(2) }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('dropActivity' as const), x: fc.nat() }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('dropAgent' as const), a: fc.nat() }),
        },
      );
      let operations = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 500, maxLength: 500 }), async (ops) => {
          for (const o of ops) {
            operations++;
            switch (o.kind) {
              case 'agent': {
                const user = users[o.user]!;
                const agent = await db
                  .forUser(user.id)
                  .userAgents.createFromTemplate({ templateId: templates[o.t]!.id });
                agents.push({ id: agent.id, userId: user.id });
                break;
              }
              case 'activity': {
                if (agents.length === 0) break;
                const agent = agents[o.a % agents.length]!;
                const row = await db.forUser(agent.userId).agentActivities.record({
                  agentId: agent.id,
                  activityType: 'task',
                  status: (['success', 'failure', 'running'] as const)[o.s],
                });
                activities.push(row.id);
                break;
              }
              case 'status': {
                if (agents.length === 0) break;
                const agent = agents[o.a % agents.length]!;
                await asService(
                  sql`update user_agents set status = ${statuses[o.s]} where id = ${agent.id}`,
                );
                break;
              }
              case 'flip': {
                if (activities.length === 0) break;
                const id = activities[o.x % activities.length]!;
                const status = (['success', 'failure', 'running'] as const)[o.s];
                await asService(
                  sql`update agent_activities set status = ${status} where id = ${id}`,
                );
                break;
              }
              case 'dropActivity': {
                if (activities.length === 0) break;
                const [id] = activities.splice(o.x % activities.length, 1);
                await asService(sql`delete from agent_activities where id = ${id}`);
                break;
              }
              case 'dropAgent': {
                if (agents.length === 0) break;
                // Its activities go with it (ON DELETE CASCADE), and the statistics follow.
                const [agent] = agents.splice(o.a % agents.length, 1);
                await asService(sql`delete from user_agents where id = ${agent!.id}`);
                break;
              }
            }
          }
          const kept = await asService(sql`select id from agent_activities`);
          activities.splice(0, activities.length, ...kept.map((r) => String(r.id)));
          // Every user's row equals a recount from scratch.
          const drift = await asService(sql`
            select u.id from users u
            left join user_statistics s on s.user_id = u.id
            where coalesce(s.total_agents, 0) <> (select count(*) from user_agents a where a.user_id = u.id)
               or coalesce(s.active_agents, 0) <> (select count(*) from user_agents a where a.user_id = u.id and a.status = 'active')
               or coalesce(s.total_activities, 0) <> (select count(*) from agent_activities x where x.user_id = u.id)
               or coalesce(s.successful_activities, 0) <> (select count(*) from agent_activities x where x.user_id = u.id and x.status = 'success')
               or coalesce(s.failed_activities, 0) <> (select count(*) from agent_activities x where x.user_id = u.id and x.status = 'failure')
               or not ((s.last_activity_at is null and (select max(created_at) from agent_activities x where x.user_id = u.id) is null)
                 or s.last_activity_at = (select max(created_at) from agent_activities x where x.user_id = u.id))`);
          expect(drift).toEqual([]);
        }),
        { numRuns: dialect === 'postgres' ? 4 : 6, seed: 20261123, endOnFailure: true },
      );
      expect(operations).toBe(dialect === 'postgres' ? 2000 : 3000);
      const stats = await db.forUser(users[0]!.id).userStatistics.get();
      expect(stats?.userId).toBe(users[0]!.id);
      expect(await db.forUser(bob.id).userStatistics.get()).toBeNull();
    }, 240_000);

    it('keeps user_statistics exact when many writers change one user at once', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const templates = await me.agentTemplates.list();
      const agents = await Promise.all(
        templates.map((t) => me.userAgents.createFromTemplate({ templateId: t.id })),
      );
      // 120 activities and status changes, as many at once as the pool allows, from separate
      // connections on Postgres: each trigger's recount must see what the others committed.
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => {
          const agent = agents[i % agents.length]!;
          if (i % 10 === 9) return me.userAgents.pause(agent.id).catch(() => undefined);
          return me.agentActivities.record({
            agentId: agent.id,
            activityType: 'burst',
            status: i % 3 === 0 ? 'failure' : 'success',
          });
        }),
      );
      const [row] = await asService(sql`
        select
          s.total_agents, s.active_agents, s.total_activities, s.successful_activities,
          s.failed_activities, s.last_activity_at,
          (select count(*) from user_agents a where a.user_id = s.user_id) as agents,
          (select count(*) from user_agents a where a.user_id = s.user_id and a.status = 'active') as active,
          (select count(*) from agent_activities x where x.user_id = s.user_id) as activities,
          (select count(*) from agent_activities x where x.user_id = s.user_id and x.status = 'success') as successes,
          (select count(*) from agent_activities x where x.user_id = s.user_id and x.status = 'failure') as failures,
          (select max(created_at) from agent_activities x where x.user_id = s.user_id) as last_at
        from user_statistics s where s.user_id = ${user.id}`);
      const r = row as Record<string, unknown>;
      const n = (k: string) => Number(r[k]);
      expect({
        agents: n('total_agents'),
        active: n('active_agents'),
        activities: n('total_activities'),
        successes: n('successful_activities'),
        failures: n('failed_activities'),
        lastAt: new Date(r.last_activity_at as string | number).getTime(),
      }).toEqual({
        agents: n('agents'),
        active: n('active'),
        activities: n('activities'),
        successes: n('successes'),
        failures: n('failures'),
        lastAt: new Date(r.last_at as string | number).getTime(),
      });
      expect(n('activities')).toBeGreaterThan(90);
    });

    it('activates a catalog workflow only with every OAuth grant it needs, onto the dashboard', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const importer = db.asService('catalog import');
      const templateId = crypto.randomUUID();
      expect(
        await importer.insertMany(schema.workflowTemplates, [
          {
            id: templateId,
            slug: `lead-sync-${templateId.slice(0, 8)}`,
            name: 'Lead sync',
            category: 'sales',
            requiredProviders: ['google', 'hubspot'],
          },
        ]),
      ).toBe(1);
      await me.oauthTokens.save({ provider: 'google', accessToken: 'g' });
      const refused = await me.workflowInstances
        .activate({ templateId, n8nWorkflowId: `n8n-${templateId}` })
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MissingOAuthGrantError);
      expect(refused).toMatchObject({ code: 'PRECONDITION_FAILED', providers: ['hubspot'] });
      expect(await me.workflowInstances.list()).toEqual([]);
      expect(await me.dashboards.get()).toBeNull();

      await me.oauthTokens.save({ provider: 'hubspot', accessToken: 'h' });
      const instance = await me.workflowInstances.activate({
        templateId,
        n8nWorkflowId: `n8n-${templateId}`,
      });
      expect(instance).toMatchObject({ userId: user.id, templateId, status: 'active' });
      // Activating again is idempotent: one instance, one dashboard entry.
      await me.workflowInstances.activate({ templateId, n8nWorkflowId: `n8n-${templateId}` });
      const dashboard = await me.dashboards.get();
      expect(dashboard?.workflows.map((w) => w.instanceId)).toEqual([instance.id]);
      expect(dashboard?.workflows[0]).toMatchObject({ templateId, name: 'Lead sync' });

      const off = await me.workflowInstances.deactivate(instance.id);
      expect(off).toMatchObject({ status: 'inactive' });
      expect(off.deactivatedAt).toBeInstanceOf(Date);
      expect((await me.dashboards.get())?.workflows).toEqual([]);
      await expect(
        db.forUser(bob.id).workflowInstances.deactivate(instance.id),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      // A revoked grant counts as missing.
      await me.oauthTokens.revoke('google');
      await expect(
        me.workflowInstances.activate({ templateId, n8nWorkflowId: `n8n-${templateId}` }),
      ).rejects.toMatchObject({ providers: ['google'] });
      expect((await me.workflowTemplates.list()).some((t) => t.id === templateId)).toBe(true);
    });

    it('runs business discovery: answers, a profile, recommendations accepted or dismissed', async () => {
      const me = db.forUser(ada.id);
      const session = await me.businessDiscovery.start('industry');
      await me.businessDiscovery.recordAnswers(session.id, { industry: 'retail' }, 'size');
      const answered = await me.businessDiscovery.recordAnswers(session.id, { size: '10-50' });
      expect(answered).toMatchObject({
        answers: { industry: 'retail', size: '10-50' },
        currentQuestion: 'size',
      });
      const profile = await me.businessDiscovery.complete(session.id, {
        businessName: 'Ada Shop',
        industry: 'retail',
        goals: ['more leads'],
      });
      expect(profile).toMatchObject({
        userId: ada.id,
        sessionId: session.id,
        goals: ['more leads'],
      });
      await expect(me.businessDiscovery.complete(session.id, {})).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(
        me.businessDiscovery.recordAnswers(session.id, { late: true }),
      ).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect(
        await me.businessDiscovery.recommend(session.id, [
          { title: 'Lead capture', score: 0.9 },
          { title: 'Newsletter', score: 0.4, reason: 'retail' },
          { title: 'Review replies' },
        ]),
      ).toBe(3);
      const recs = await me.businessDiscovery.recommendations(session.id);
      expect(recs.map((r) => r.title)).toEqual(['Lead capture', 'Newsletter', 'Review replies']);
      expect((await me.businessDiscovery.accept(recs[0]!.id)).status).toBe('accepted');
      expect((await me.businessDiscovery.dismiss(recs[1]!.id)).status).toBe('dismissed');
      await expect(me.businessDiscovery.accept(recs[1]!.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      const them = db.forUser(bob.id);
      await expect(them.businessDiscovery.get(session.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(await them.businessDiscovery.recommendations(session.id)).toEqual([]);
      await expect(
        them.businessDiscovery.recommend(session.id, [{ title: 'x' }]),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('lists notifications newest first with a keyset cursor; counts and marks them read', async () => {
      const user = await newUser();
      const notifier = db.asService('notifier');
      for (let i = 0; i < 45; i++) {
        await notifier.userNotifications.create({ type: 'info', title: `n${i}` }, user.id);
      }
      const me = db.forUser(user.id);
      const seen: string[] = [];
      const keys: [number, string][] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof me.userNotifications.list>> =
          await me.userNotifications.list({
            limit: 20,
            cursor,
          });
        seen.push(...page.items.map((x) => x.title));
        keys.push(...page.items.map((x) => [x.createdAt.getTime(), x.id] as [number, string]));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(45);
      expect(new Set(seen).size).toBe(45);
      // Newest first: (created_at, id) strictly decreasing across all pages.
      for (let i = 1; i < keys.length; i++) {
        const [at, id] = keys[i]!;
        const [prevAt, prevId] = keys[i - 1]!;
        expect(at < prevAt || (at === prevAt && id < prevId)).toBe(true);
      }
      expect(await me.userNotifications.unreadCount()).toBe(45);
      const first = (await me.userNotifications.list({ limit: 1 })).items[0]!;
      expect((await me.userNotifications.markRead(first.id)).isRead).toBe(true);
      expect(await me.userNotifications.unreadCount()).toBe(44);
      expect(
        (await me.userNotifications.list({ unreadOnly: true, limit: 100 })).items,
      ).toHaveLength(44);
      expect(await me.userNotifications.markAllRead()).toBe(44);
      expect(await me.userNotifications.unreadCount()).toBe(0);
      const them = db.forUser(bob.id);
      expect((await them.userNotifications.list()).items).toEqual([]);
      await expect(them.userNotifications.markRead(first.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(me.userNotifications.list({ cursor: 'bogus' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it('keeps dashboards, preferences and an activity log per user, bulk appends included', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const dash = await me.dashboards.update({ widgets: [{ kind: 'stats' }] });
      expect(dash).toMatchObject({ widgets: [{ kind: 'stats' }], workflows: [], settings: {} });
      const later = await me.dashboards.update({ settings: { compact: true } });
      expect(later).toMatchObject({ widgets: [{ kind: 'stats' }], settings: { compact: true } });
      expect(later.updatedAt.getTime()).toBeGreaterThanOrEqual(dash.updatedAt.getTime());
      expect(await me.dashboards.setPreferences({ theme: 'dark' })).toMatchObject({
        theme: 'dark',
        defaultView: 'overview',
      });
      await expect(me.dashboards.setPreferences({ theme: 'neon' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await me.activityLogs.append({ action: 'login', ipAddress: '203.0.113.7' });
      expect(
        await me.activityLogs.appendMany(
          Array.from({ length: 1000 }, (_, i) => ({ action: 'import', entityId: String(i) })),
        ),
      ).toBe(1000);
      let total = 0;
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof me.activityLogs.list>> = await me.activityLogs.list({
          limit: 300,
          cursor,
        });
        total += page.items.length;
        cursor = page.nextCursor;
      } while (cursor);
      expect(total).toBe(1001);
      // One bad entry: nothing of the batch is written.
      await expect(
        me.activityLogs.appendMany([{ action: 'ok' }, { action: '' }]),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect((await db.forUser(bob.id).activityLogs.list()).items).toEqual([]);
      expect(await db.forUser(bob.id).dashboards.get()).toBeNull();
    });
  });
}
