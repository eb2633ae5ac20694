/**
 * Leads, workflow executions and agent messages through `createDb` on a database pushed from
 * `drizzle/` (Postgres: as the application role, row-level security in force): every verb of
 * their repositories, the score's range checked before SQL and by the database, and the
 * refusals of row-level security to raw SQL; on Postgres, the plans of the array and JSON lookups
 * on their GIN indexes at 100k leads.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import {
  connect,
  type Database,
  type Dialect,
  type Executor,
  explain,
  type Statement,
  userActor,
} from '@exora/core';
import { leadsByMetadataQuery, leadsByServiceQuery } from '@exora/crm';
import { createTestCrypto } from '@exora/crypto/testing';
import {
  type AgentFailureRateRow,
  type ConversationsPerDayRow,
  type ExoraDb,
  type LeadPipelineRow,
  type PublicUser,
  schema,
  type WorkflowExecutionStatsRow,
} from '@exora/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, readMigrations } from '../../src/files.ts';
import { migrate, rollback } from '../../src/migrator.ts';
import { loadSource } from '../../src/source.ts';
import { verify } from '../../src/verify.ts';
import { copyDir, freshDatabase, pgAdmin, pgUrl } from '../helpers.ts';
import { asServiceTx, type Platform, platform } from './platform.ts';

/** The analytics views, by SQL name. */
const VIEWS = [
  'agent_failure_rates',
  'conversations_per_day',
  'lead_pipeline',
  'workflow_execution_stats',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let emails = 0;
const newUser = (db: ExoraDb, label: string) =>
  db
    .asService('signup')
    .users.create({ email: `s001l-${label}-${emails++}-${Date.now()}@example.test` });

export function seed001LeadsSuite(dialect: Dialect) {
  describe(`seed 001: leads, workflow executions, agent messages (${dialect})`, () => {
    let p: Platform;
    let db: ExoraDb;
    let ada: PublicUser;
    let bob: PublicUser;

    beforeAll(async () => {
      p = await platform(dialect);
      db = p.db;
      ada = await newUser(db, 'ada');
      bob = await newUser(db, 'bob');
    });
    afterAll(async () => {
      await p?.dispose();
    });

    /** Raw SQL as a service (what a maintenance job would do). */
    const asService = <R>(fn: (tx: Executor) => Promise<R>) => asServiceTx(db, fn);

    it('creates a lead assigned to the actor, with defaults; input checked before SQL', async () => {
      const me = db.forUser(ada.id);
      const lead = await me.leads.create({
        name: 'Acme',
        email: 'buyer@acme.test',
        servicesInterested: ['seo', 'ads', 'seo'],
        metadata: { campaign: 'spring' },
      });
      expect(lead).toMatchObject({
        name: 'Acme',
        email: 'buyer@acme.test',
        status: 'new',
        leadScore: 0,
        servicesInterested: ['seo', 'ads'],
        assignedTo: ada.id,
        metadata: { campaign: 'spring' },
      });
      expect(lead.createdAt).toBeInstanceOf(Date);
      expect(await me.leads.get(lead.id)).toEqual(lead);
      await expect(db.forUser(bob.id).leads.get(lead.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      // A service names the user the lead is for.
      const forBob = await db
        .asService('import')
        .leads.create({ name: 'Globex', status: 'qualified', leadScore: 40 }, bob.id);
      expect(forBob).toMatchObject({ assignedTo: bob.id, status: 'qualified', leadScore: 40 });
      for (const bad of [
        { name: '' },
        { name: 'x', status: 'dormant' },
        { name: 'x', leadScore: 101 },
        { name: 'x', servicesInterested: 'seo' },
        { name: 'x', metadata: [] },
      ]) {
        await expect(me.leads.create(bad as never)).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
        });
      }
    });

    it('moves a lead forward along the pipeline; backwards, or out of won or lost, is refused', async () => {
      const me = db.forUser(ada.id);
      const lead = await me.leads.create({ name: 'Initech' });
      expect((await me.leads.updateStatus(lead.id, 'contacted')).status).toBe('contacted');
      expect((await me.leads.updateStatus(lead.id, 'proposal')).status).toBe('proposal');
      await expect(me.leads.updateStatus(lead.id, 'qualified')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'status',
      });
      await expect(me.leads.updateStatus(lead.id, 'proposal')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect((await me.leads.updateStatus(lead.id, 'won')).status).toBe('won');
      await expect(me.leads.updateStatus(lead.id, 'lost')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/closed/),
      });
      const other = await me.leads.create({ name: 'Umbrella', status: 'contacted' });
      expect((await me.leads.updateStatus(other.id, 'lost')).status).toBe('lost');
      await expect(me.leads.updateStatus(other.id, 'won')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(me.leads.updateStatus(lead.id, 'open' as never)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(db.forUser(bob.id).leads.updateStatus(other.id, 'won')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect((await me.leads.get(lead.id)).status).toBe('won');
    });

    it('scores 0-100: outside it a ValidationError before SQL; the database refuses raw writes', async () => {
      const me = db.forUser(ada.id);
      const lead = await me.leads.create({ name: 'Hooli' });
      expect((await me.leads.score(lead.id, 100)).leadScore).toBe(100);
      expect((await me.leads.score(lead.id, 0)).leadScore).toBe(0);
      for (const bad of [101, -1, 50.5, Number.NaN, '7']) {
        // The database would say CHECK_VIOLATION: VALIDATION_FAILED is the repository's own.
        await expect(me.leads.score(lead.id, bad as never)).rejects.toMatchObject({
          code: 'VALIDATION_FAILED',
          field: 'leadScore',
        });
      }
      await expect(db.forUser(bob.id).leads.score(lead.id, 5)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      for (const raw of [101, -1]) {
        await expect(
          asService((tx) =>
            tx.execute(sql`update leads set lead_score = ${raw} where id = ${lead.id}`),
          ),
        ).rejects.toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'leads_lead_score_range' });
        await expect(
          asService((tx) =>
            tx.execute(
              sql`insert into leads (id, name, assigned_to, lead_score) values (${randomUUID()}, 'raw', ${ada.id}, ${raw})`,
            ),
          ),
        ).rejects.toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'leads_lead_score_range' });
      }
      expect((await me.leads.get(lead.id)).leadScore).toBe(0);
    });

    it('assigns a lead to another user: a service only; the lead moves with it', async () => {
      const lead = await db.forUser(ada.id).leads.create({ name: 'Stark' });
      await expect(db.forUser(ada.id).leads.assign(lead.id, bob.id)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      const service = db.asService('crm');
      const moved = await service.leads.assign(lead.id, bob.id);
      expect(moved.assignedTo).toBe(bob.id);
      expect((await db.forUser(bob.id).leads.get(lead.id)).id).toBe(lead.id);
      await expect(db.forUser(ada.id).leads.get(lead.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(service.leads.assign(lead.id, randomUUID())).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: expect.stringMatching(/user/),
      });
      await expect(service.leads.assign(randomUUID(), bob.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await db.forUser(bob.id).leads.delete(lead.id);
      await expect(db.forUser(bob.id).leads.delete(lead.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('finds by status, minimum score, a service and metadata: only the actor’s leads', async () => {
      const carol = await newUser(db, 'carol');
      const dave = await newUser(db, 'dave');
      const me = db.forUser(carol.id);
      const a = await me.leads.create({
        name: 'A',
        leadScore: 90,
        servicesInterested: ['seo', 'ads'],
        metadata: { campaign: 'spring', region: 'eu', vip: true, budget: 5000 },
      });
      const b = await me.leads.create({
        name: 'B',
        status: 'qualified',
        leadScore: 60,
        servicesInterested: ['ads'],
        metadata: { campaign: 'spring', region: 'us', vip: false, budget: 1 },
      });
      const c = await me.leads.create({ name: 'C', leadScore: 10, metadata: { campaign: 'fall' } });
      // Another user's lead matching everything: never found.
      await db.forUser(dave.id).leads.create({
        name: 'D',
        leadScore: 99,
        servicesInterested: ['seo', 'ads'],
        metadata: { campaign: 'spring', region: 'eu', vip: true, budget: 5000 },
      });
      const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();
      expect(ids(await me.leads.findByStatus('new'))).toEqual(ids([a, c]));
      expect(ids(await me.leads.findByStatus('qualified'))).toEqual([b.id]);
      expect(await me.leads.findByStatus('won')).toEqual([]);
      expect((await me.leads.findByMinScore(60)).map((r) => r.id)).toEqual([a.id, b.id]);
      expect((await me.leads.findByMinScore(0, { limit: 1 })).map((r) => r.id)).toEqual([a.id]);
      expect(ids(await me.leads.findByService('ads'))).toEqual(ids([a, b]));
      expect(ids(await me.leads.findByService('seo'))).toEqual([a.id]);
      expect(await me.leads.findByService('crm')).toEqual([]);
      expect(ids(await me.leads.findByMetadata({ campaign: 'spring' }))).toEqual(ids([a, b]));
      expect(ids(await me.leads.findByMetadata({ campaign: 'spring', region: 'eu' }))).toEqual([
        a.id,
      ]);
      // Types count: true is not 1, 5000 is not "5000".
      expect(ids(await me.leads.findByMetadata({ vip: true }))).toEqual([a.id]);
      expect(ids(await me.leads.findByMetadata({ vip: false }))).toEqual([b.id]);
      expect(await me.leads.findByMetadata({ budget: 1, vip: true })).toEqual([]);
      expect(ids(await me.leads.findByMetadata({ budget: 5000 }))).toEqual([a.id]);
      expect(await me.leads.findByMetadata({ budget: '5000' })).toEqual([]);
      expect(await me.leads.findByMetadata({ missing: 'x' })).toEqual([]);
      // A service names the user.
      const service = db.asService('reports');
      expect(ids(await service.leads.findByService('seo', {}, dave.id))).toHaveLength(1);
      await expect(service.leads.findByService('seo')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      for (const call of [
        () => me.leads.findByMinScore(101),
        () => me.leads.findByStatus('open' as never),
        () => me.leads.findByService(''),
        () => me.leads.findByMetadata({}),
        () => me.leads.findByMetadata({ nested: { a: 1 } } as never),
        () => me.leads.findByStatus('new', { limit: 0 }),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    });

    it('starts an execution, moves it step by step and completes it with its duration', async () => {
      const me = db.forUser(ada.id);
      const started = await me.workflowExecutions.start({
        workflowType: 'lead_qualification',
        conversationId: 'conv-1',
        currentStep: 'intake',
        participatingAgents: ['qualifier', 'writer'],
        workflowConfig: { depth: 2 },
        executionPlan: { steps: ['intake', 'score'] },
      });
      expect(started).toMatchObject({
        initiatedBy: ada.id,
        workflowType: 'lead_qualification',
        currentState: 'running',
        currentStep: 'intake',
        participatingAgents: ['qualifier', 'writer'],
        workflowConfig: { depth: 2 },
        executionPlan: { steps: ['intake', 'score'] },
        results: null,
        completedAt: null,
        durationMs: null,
      });
      expect(started.startedAt).toBeInstanceOf(Date);
      expect((await me.workflowExecutions.advance(started.id, 'score')).currentStep).toBe('score');
      await sleep(25);
      const done = await me.workflowExecutions.complete(started.id, { score: 80 });
      expect(done).toMatchObject({ currentState: 'completed', results: { score: 80 } });
      const startedAt = done.startedAt as Date;
      const completedAt = done.completedAt as Date;
      // Computed by the database from the two timestamps it stored.
      expect(done.durationMs).toBe(completedAt.getTime() - startedAt.getTime());
      expect(done.durationMs).toBeGreaterThanOrEqual(20);
      await expect(me.workflowExecutions.complete(started.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(me.workflowExecutions.advance(started.id, 'again')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect(await me.workflowExecutions.get(started.id)).toEqual(done);
      await expect(db.forUser(bob.id).workflowExecutions.get(started.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(
        db.forUser(bob.id).workflowExecutions.complete(started.id),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(me.workflowExecutions.start({ workflowType: '' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it('fails or cancels an execution; lists the actor’s newest first', async () => {
      const erin = await newUser(db, 'erin');
      const me = db.forUser(erin.id);
      const one = await me.workflowExecutions.start({ workflowType: 'outreach' });
      const failed = await me.workflowExecutions.fail(one.id, 'model timed out', { partial: 1 });
      expect(failed).toMatchObject({
        currentState: 'failed',
        errorMessage: 'model timed out',
        results: { partial: 1 },
      });
      expect(failed.durationMs).toBe(
        (failed.completedAt as Date).getTime() - (failed.startedAt as Date).getTime(),
      );
      await sleep(2); // newest first, to the millisecond
      const two = await db
        .asService('runner')
        .workflowExecutions.start({ workflowType: 'outreach' }, erin.id);
      expect((await me.workflowExecutions.cancel(two.id)).currentState).toBe('cancelled');
      await expect(me.workflowExecutions.fail(two.id, 'late')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      const page = await me.workflowExecutions.list({ limit: 1 });
      expect(page.items.map((e) => e.id)).toEqual([two.id]);
      const next = await me.workflowExecutions.list({ limit: 1, cursor: page.nextCursor });
      expect(next.items.map((e) => e.id)).toEqual([one.id]);
      expect(next.nextCursor).toBeNull();
    });

    it('records agent input, output and tool calls on an execution; completes or fails them', async () => {
      const me = db.forUser(ada.id);
      const execution = await me.workflowExecutions.start({ workflowType: 'research' });
      const input = await me.agentMessages.record(execution.id, {
        agentName: 'researcher',
        messageType: 'input',
        content: 'Find leads in Berlin',
        contextData: { locale: 'de' },
      });
      expect(input).toMatchObject({
        workflowExecutionId: execution.id,
        userId: ada.id,
        agentName: 'researcher',
        messageType: 'input',
        status: 'pending',
        toolCalls: [],
        contextData: { locale: 'de' },
        processedAt: null,
      });
      // A millisecond apart: the list is in recording order to the millisecond.
      await sleep(2);
      const call = await me.agentMessages.record(execution.id, {
        agentName: 'researcher',
        messageType: 'tool_call',
        toolCalls: [{ tool: 'search', arguments: { q: 'berlin agencies' } }],
      });
      expect(call.toolCalls).toEqual([{ tool: 'search', arguments: { q: 'berlin agencies' } }]);
      await sleep(2);
      const output = await me.agentMessages.record(execution.id, {
        agentName: 'researcher',
        messageType: 'output',
        content: '3 leads',
        status: 'completed',
      });
      expect(output.status).toBe('completed');
      const processed = await me.agentMessages.complete(input.id);
      expect(processed.status).toBe('completed');
      expect(processed.processedAt).toBeInstanceOf(Date);
      const failed = await me.agentMessages.fail(call.id, 'search API returned 500');
      expect(failed).toMatchObject({ status: 'failed', errorDetails: 'search API returned 500' });
      await expect(me.agentMessages.complete(call.id)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect((await me.agentMessages.listForExecution(execution.id)).map((m) => m.id)).toEqual([
        input.id,
        call.id,
        output.id,
      ]);
      expect((await me.agentMessages.get(output.id)).content).toBe('3 leads');
      // Another user's execution does not exist for ada; bob sees none of her messages.
      const bobs = await db.forUser(bob.id).workflowExecutions.start({ workflowType: 'x' });
      await expect(
        me.agentMessages.record(bobs.id, { agentName: 'a', messageType: 'input' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await db.forUser(bob.id).agentMessages.listForExecution(execution.id)).toEqual([]);
      await expect(db.forUser(bob.id).agentMessages.get(input.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(
        me.agentMessages.record(execution.id, { agentName: 'a', messageType: 'shout' as never }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    /** A user with a known set of rows in every table the analytics views read. */
    async function analyticsFixture() {
      const user = await newUser(db, 'analytics');
      const me = db.forUser(user.id);
      for (const [status, leadScore] of [
        ['new', 10],
        ['new', 20],
        ['qualified', 90],
        ['won', 50],
      ] as const) {
        await me.leads.create({ name: `${status} ${leadScore}`, status, leadScore });
      }
      const durations: number[] = [];
      for (const end of ['complete', 'complete', 'fail', 'running'] as const) {
        const e = await me.workflowExecutions.start({ workflowType: 'qualify' });
        if (end === 'complete')
          durations.push((await me.workflowExecutions.complete(e.id)).durationMs!);
        if (end === 'fail')
          durations.push((await me.workflowExecutions.fail(e.id, 'x')).durationMs!);
      }
      const outreach = await me.workflowExecutions.start({ workflowType: 'outreach' });
      const m = (agentName: string) =>
        me.agentMessages.record(outreach.id, { agentName, messageType: 'input' });
      await me.agentMessages.complete((await m('writer')).id);
      await me.agentMessages.fail((await m('writer')).id, 'x');
      await m('writer');
      await m('scorer');
      const now = Date.now();
      const at = (daysAgo: number) => new Date(now - daysAgo * 86_400_000);
      await me.insertMany(schema.conversations, [
        { userId: user.id, channel: 'web', createdAt: at(0) },
        { userId: user.id, channel: 'web', createdAt: at(0) },
        { userId: user.id, channel: 'api', createdAt: at(0) },
        { userId: user.id, channel: 'mobile', createdAt: at(1) },
        { userId: user.id, channel: 'web', createdAt: at(40) },
      ]);
      const day = (daysAgo: number) => at(daysAgo).toISOString().slice(0, 10);
      return { user, durations, day };
    }

    it('reads the analytics views, typed, for the acting user (a service names the user)', async () => {
      const { user, durations, day } = await analyticsFixture();
      // Another user's rows in every view: never counted.
      const other = await analyticsFixture();
      const me = db.forUser(user.id);
      const pipeline: LeadPipelineRow[] = await me.analytics.leadPipeline();
      expect(pipeline).toEqual([
        { status: 'new', leads: 2, meanScore: 15 },
        { status: 'qualified', leads: 1, meanScore: 90 },
        { status: 'won', leads: 1, meanScore: 50 },
      ]);
      const stats: WorkflowExecutionStatsRow[] = await me.analytics.workflowExecutionStats();
      expect(stats).toHaveLength(2);
      expect(stats[0]).toMatchObject({
        workflowType: 'outreach',
        executions: 1,
        completed: 0,
        failed: 0,
        successRate: null,
        meanDurationMs: null,
      });
      expect(stats[1]).toMatchObject({
        workflowType: 'qualify',
        executions: 4,
        completed: 2,
        failed: 1,
      });
      expect(stats[1]?.successRate).toBeCloseTo(2 / 3, 10);
      expect(stats[1]?.meanDurationMs).toBeCloseTo(
        durations.reduce((a, b) => a + b, 0) / durations.length,
        6,
      );
      const rates: AgentFailureRateRow[] = await me.analytics.agentFailureRates();
      expect(rates).toEqual([
        { agentName: 'scorer', messages: 1, failed: 0, failureRate: null },
        { agentName: 'writer', messages: 3, failed: 1, failureRate: 0.5 },
      ]);
      const perDay: ConversationsPerDayRow[] = await me.analytics.conversationsPerDay();
      expect(perDay).toEqual(
        [
          { day: day(0), channel: 'web', conversations: 2 },
          { day: day(0), channel: 'api', conversations: 1 },
          { day: day(1), channel: 'mobile', conversations: 1 },
        ].sort((a, b) =>
          a.day === b.day ? a.channel.localeCompare(b.channel) : b.day.localeCompare(a.day),
        ),
      );
      expect(await me.analytics.conversationsPerDay({ days: 41 })).toHaveLength(4);
      expect(await me.analytics.conversationsPerDay({ days: 1 })).toHaveLength(2);
      await expect(me.analytics.conversationsPerDay({ days: 0 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      // A service names the user; without one it is refused before any SQL.
      const service = db.asService('reports');
      expect(await service.analytics.leadPipeline(user.id)).toEqual(pipeline);
      expect(await service.analytics.agentFailureRates(other.user.id)).toEqual(rates);
      await expect(service.analytics.leadPipeline()).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(me.analytics.leadPipeline(other.user.id)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
    });

    it('rolls the views migration back to exactly the verified state before it, and forward again', async () => {
      const source = await loadSource();
      const upTo = copyDir(defaultMigrationsDir());
      const before = copyDir(defaultMigrationsDir());
      const files = readMigrations(upTo, dialect);
      const at = files.findIndex((f) => f.name.endsWith('_seed_001_analytics_views'));
      const mine = files[at];
      expect(mine?.up).toMatch(/CREATE VIEW [`"]lead_pipeline[`"]/);
      const drop = (dir: string, from: number) => {
        for (const f of readMigrations(dir, dialect).slice(from)) {
          for (const path of [f.upPath, f.downPath, f.snapshotPath]) rmSync(path);
        }
      };
      drop(upTo, at + 1);
      drop(before, at);
      const fresh = await freshDatabase(dialect);
      try {
        await migrate(fresh.db, before);
        const earlier = await verify(fresh.db, source, upTo);
        expect(earlier.migrations?.pending).toEqual([mine?.name]);
        // db:verify knows the views: missing before the migration, each with the SQL to repair it.
        const views = earlier.differences.filter((d) => d.object === 'view');
        expect(views.map((d) => [d.name, d.problem]).sort()).toEqual(
          VIEWS.map((v) => [v, 'missing']).sort(),
        );
        for (const d of views) expect(d.repair?.sql.join('\n')).toMatch(/CREATE VIEW/);
        await migrate(fresh.db, upTo);
        const applied = await verify(fresh.db, source, upTo);
        expect(applied.differences.filter((d) => d.object === 'view')).toEqual([]);
        expect(applied.migrations?.pending).toEqual([]);
        expect((await rollback(fresh.db, upTo)).rolledBack).toEqual([mine?.name]);
        expect(await verify(fresh.db, source, upTo)).toEqual(earlier);
        await migrate(fresh.db, upTo);
        expect(await verify(fresh.db, source, upTo)).toEqual(applied);
      } finally {
        await fresh.dispose();
        rmSync(upTo, { recursive: true, force: true });
        rmSync(before, { recursive: true, force: true });
      }
    });

    // Postgres only: SQLite has no roles to query as.
    if (dialect === 'postgres') {
      it('as the application role, each view shows the acting user’s rows only (security_invoker)', async () => {
        const app = p.app as Database;
        const ada2 = await analyticsFixture();
        const bob2 = await analyticsFixture();
        const read = (actor: string | null) =>
          app.transaction(async (tx) => {
            await tx.execute(
              actor === null
                ? sql`select exora_set_actor(null, null, true)`
                : sql`select exora_set_actor(${actor}, null, false)`,
            );
            const out: Record<string, { user_id: string }[]> = {};
            for (const v of VIEWS) {
              out[v] = await tx.execute<{ user_id: string }>(
                sql`select user_id from ${sql.identifier(v)}`,
              );
            }
            return out;
          });
        const seen = await read(ada2.user.id);
        for (const v of VIEWS) {
          expect(seen[v]?.length, v).toBeGreaterThan(0);
          expect(new Set(seen[v]?.map((r) => r.user_id)), v).toEqual(new Set([ada2.user.id]));
        }
        // A service sees every user's rows; a session without the actor sees none.
        const all = await read(null);
        for (const v of VIEWS) {
          const users = new Set(all[v]?.map((r) => r.user_id));
          expect(users.has(ada2.user.id) && users.has(bob2.user.id), v).toBe(true);
        }
        const none = await app.transaction(async (tx) =>
          tx.execute(sql`select * from lead_pipeline`),
        );
        expect(none).toEqual([]);
        const options = await app.execute<{ relname: string; reloptions: string[] | null }>(
          sql`select relname, reloptions from pg_class where relkind = 'v' and relname in (${sql.join(
            VIEWS.map((v) => sql`${v}`),
            sql`, `,
          )})`,
        );
        expect(options).toHaveLength(VIEWS.length);
        for (const o of options) expect(o.reloptions, o.relname).toContain('security_invoker=true');
      });

      it('as the application role, raw SQL reaches only the user’s leads, executions and messages', async () => {
        const app = p.app as Database;
        const adaLead = await db.forUser(ada.id).leads.create({ name: 'mine' });
        const bobLead = await db.forUser(bob.id).leads.create({ name: 'theirs' });
        const bobRun = await db.forUser(bob.id).workflowExecutions.start({ workflowType: 'y' });
        await db
          .forUser(bob.id)
          .agentMessages.record(bobRun.id, { agentName: 'a', messageType: 'input' });
        const asAda = <R>(fn: (tx: Executor) => Promise<R>) =>
          app.transaction(async (tx) => {
            await tx.execute(sql`select exora_set_actor(${ada.id}, null, false)`);
            return fn(tx);
          });
        const seen = await asAda(async (tx) => ({
          leads: await tx.execute<{ assigned_to: string }>(sql`select assigned_to from leads`),
          executions: await tx.execute<{ initiated_by: string }>(
            sql`select initiated_by from workflow_executions`,
          ),
          messages: await tx.execute<{ user_id: string }>(sql`select user_id from agent_messages`),
        }));
        expect(seen.leads.length).toBeGreaterThan(0);
        expect(seen.leads.every((r) => r.assigned_to === ada.id)).toBe(true);
        expect(seen.executions.every((r) => r.initiated_by === ada.id)).toBe(true);
        expect(seen.messages.every((r) => r.user_id === ada.id)).toBe(true);
        // Bob's rows: not updated, not deleted (0 rows), whatever the statement says.
        const changed = await asAda(async (tx) => [
          await tx.execute(
            sql`update leads set lead_score = 1 where id = ${bobLead.id} returning id`,
          ),
          await tx.execute(sql`delete from leads where id = ${bobLead.id} returning id`),
          await tx.execute(
            sql`update workflow_executions set current_state = 'failed' where id = ${bobRun.id} returning id`,
          ),
        ]);
        expect(changed).toEqual([[], [], []]);
        // Writing a row for bob, or giving him ada's lead: refused by the policies.
        await expect(
          asAda((tx) =>
            tx.execute(
              sql`insert into leads (id, name, assigned_to) values (${randomUUID()}, 'x', ${bob.id})`,
            ),
          ),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        await expect(
          asAda((tx) =>
            tx.execute(sql`update leads set assigned_to = ${bob.id} where id = ${adaLead.id}`),
          ),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        await expect(
          asAda((tx) =>
            tx.execute(
              sql`insert into agent_messages (id, workflow_execution_id, user_id, agent_name, message_type) values (${randomUUID()}, ${bobRun.id}, ${bob.id}, 'a', 'input')`,
            ),
          ),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        // The score's range holds for the application role too.
        await expect(
          asAda((tx) =>
            tx.execute(sql`update leads set lead_score = 150 where id = ${adaLead.id}`),
          ),
        ).rejects.toMatchObject({ code: 'CHECK_VIOLATION' });
        expect((await db.forUser(bob.id).leads.get(bobLead.id)).leadScore).toBe(0);
      });
    }
  });
}

/** Leads of the plan check (`SEED001_PLAN_LEADS` to change it). */
const PLAN_LEADS = Number(process.env.SEED001_PLAN_LEADS ?? 100_000);
const PLAN_USERS = 4;

/**
 * Postgres: the plans of the array and JSON lookups at 100k leads, read with core's `explain()`
 * for the same statements, parameters and actor the repository uses. Two roles: the application
 * role, under row-level security, and a role the policies do not apply to (a superuser here; a
 * BYPASSRLS role in a deployment). `@>` on `text[]` and `jsonb` is not LEAKPROOF in Postgres, so
 * under a policy the planner may not evaluate it before the policy's own condition, which rules
 * out any index condition on it: the application role's plan reaches the user's rows through the
 * owner index and filters them with `@>`; without policies, `@>` is the GIN index's condition.
 */
export function seed001LeadPlansSuite(dialect: Dialect) {
  describe(`seed 001: lead lookups by service and metadata at ${PLAN_LEADS} leads (${dialect})`, () => {
    let p: Platform;
    let users: string[];
    let superuser: Database;
    const crypto = createTestCrypto();

    beforeAll(async () => {
      p = await platform(dialect);
      users = [];
      for (let i = 0; i < PLAN_USERS; i++) users.push((await newUser(p.db, `plan${i}`)).id);
      const database = new URL(p.appUrl!).pathname.slice(1);
      const started = performance.now();
      // As a superuser on the test database: the rows go in without per-row policy checks, and
      // only the owner may VACUUM and ANALYZE (VACUUM empties the GIN indexes' pending lists,
      // as autovacuum would).
      const admin = pgAdmin(database);
      try {
        await admin.unsafe(`
          insert into leads (name, assigned_to, lead_score, services_interested, metadata)
          select 'lead ' || g,
                 (array['${users.join("','")}']::uuid[])[1 + g % ${PLAN_USERS}],
                 g % 101,
                 case when g % 1000 = 7 then array['web', 'rare-audit'] else array['web', 'seo'] end,
                 jsonb_build_object('campaign', 'c' || (g % 1000), 'region', 'eu')
          from generate_series(1, ${PLAN_LEADS}) g`);
        await admin.unsafe('vacuum analyze leads');
      } finally {
        await admin.end();
      }
      superuser = connect(pgUrl(database), { schema: [schema] });
      console.info(
        `[seed-001] ${dialect}: ${PLAN_LEADS} leads inserted, vacuumed and analyzed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
    });
    afterAll(async () => {
      await superuser?.close();
      await p?.dispose();
    });

    // The rare service and campaign (g % 1000 = 7) all belong to users[3] (7 % 4 = 3).
    const asUser = () => ({ actor: userActor(users[3]!), crypto });

    async function plans<P extends Record<string, unknown>>(
      name: string,
      stmt: Statement<P, unknown>,
      params: P,
    ) {
      const app = await explain(p.db.database, asUser(), stmt, params);
      const bypass = await explain(superuser, asUser(), stmt, params);
      console.info(
        `[seed-001] plan of ${name} as the application role:\n  ${app.join('\n  ')}\n` +
          `[seed-001] plan of ${name} without policies:\n  ${bypass.join('\n  ')}`,
      );
      return { app: app.join('\n'), bypass: bypass.join('\n') };
    }

    it('a service interested in: text[] @> array[...], the GIN index without policies', async () => {
      const rows = await p.db.forUser(users[3]!).leads.findByService('rare-audit', { limit: 200 });
      expect(rows).toHaveLength(PLAN_LEADS / 1000);
      expect(rows.every((r) => r.servicesInterested.includes('rare-audit'))).toBe(true);
      const { app, bypass } = await plans('findByService', leadsByServiceQuery, {
        service: 'rare-audit',
        limit: 200,
      });
      expect(bypass, bypass).toMatch(/Bitmap Index Scan on leads_services_interested_gin/);
      expect(bypass, bypass).toMatch(/Index Cond: \(services_interested @> /);
      // Under the policy: the owner's rows by the owner index, `@>` a filter.
      expect(app, app).toMatch(/Index Scan on leads_assigned_\w+_idx/);
      expect(app, app).toMatch(/Filter: .*services_interested @> /);
      expect(app, app).not.toMatch(/Seq Scan on leads\b/);
    });

    it('a metadata match: jsonb @> {...}, the GIN index without policies', async () => {
      const rows = await p.db
        .forUser(users[3]!)
        .leads.findByMetadata({ campaign: 'c7' }, { limit: 200 });
      expect(rows).toHaveLength(PLAN_LEADS / 1000);
      expect(rows.every((r) => r.metadata.campaign === 'c7')).toBe(true);
      const { app, bypass } = await plans('findByMetadata', leadsByMetadataQuery, {
        match: { campaign: 'c7' },
        limit: 200,
      });
      expect(bypass, bypass).toMatch(/Bitmap Index Scan on leads_metadata_gin/);
      expect(bypass, bypass).toMatch(/Index Cond: \(metadata @> /);
      expect(app, app).toMatch(/Index Scan on leads_assigned_\w+_idx/);
      expect(app, app).toMatch(/Filter: .*metadata @> /);
      expect(app, app).not.toMatch(/Seq Scan on leads\b/);
    });
  });
}
