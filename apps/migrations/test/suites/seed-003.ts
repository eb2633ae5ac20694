/**
 * Projects with their agent chains, tool executions, deployments, CLI sessions, chat sessions
 * and prompts, end to end, on a database pushed from `drizzle/` (triggers and policies
 * included), through `createDb` (Postgres: as the application role, row-level security on).
 * Then this migration's rollback: the database verifies exactly as it did before it.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect, type Database, type Dialect, type Executor, ValidationError } from '@exora/core';
import { type ExoraDb, type PublicUser, schema } from '@exora/db';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMigrationsDir, readMigrations } from '../../src/files.ts';
import { migrate, rollback } from '../../src/migrator.ts';
import { loadSource } from '../../src/source.ts';
import { verify } from '../../src/verify.ts';
import { copyDir, freshDatabase } from '../helpers.ts';
import { asServiceTx, type Platform, type PlatformOptions, platform } from './platform.ts';

/** The agents of the VanchinAI chain, in order. */
const CHAIN = Array.from({ length: 14 }, (_, i) => `Agent ${i + 1}`);

/** The tables this migration creates. */
const TABLES = [
  'projects',
  'agent_logs',
  'tool_executions',
  'deployment_logs',
  'cli_sessions',
  'chat_sessions',
  'prompts',
];

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `options.poolerSize`: Postgres through a transaction-mode PgBouncer with that many server
 * connections: the repositories, the raw SQL as the application role and the migrations.
 */
export function seed003Suite(dialect: Dialect, options: PlatformOptions = {}) {
  const through = options.poolerSize === undefined ? '' : ', through PgBouncer';
  describe(`seed 003: projects, agent chains, CLI sessions, deployments, chats, prompts (${dialect}${through})`, () => {
    let p: Platform;
    let db: ExoraDb;
    let ada: PublicUser;
    let bob: PublicUser;
    let n = 0;
    const newUser = () =>
      db.asService('signup').users.create({ email: `s003-${n++}-${Date.now()}@example.test` });

    beforeAll(async () => {
      p = await platform(dialect, options);
      db = p.db;
      ada = await newUser();
      bob = await newUser();
    });
    afterAll(async () => {
      await p?.dispose();
    });

    /** Raw SQL as a service (what a maintenance job would do). */
    const asService = <R>(fn: (tx: Executor) => Promise<R>) => asServiceTx(db, fn);

    it('follows a project through its 14-agent chain: progress, a failed attempt, completion', async () => {
      const me = db.forUser(ada.id);
      const project = await me.projects.create({
        name: 'Landing page',
        prompt: 'A landing page for a bakery',
        totalSteps: CHAIN.length,
      });
      expect(project).toMatchObject({
        userId: ada.id,
        status: 'pending',
        progress: 0,
        totalSteps: 14,
        completedAt: null,
      });
      let tools = 0;
      for (const [i, agentName] of CHAIN.entries()) {
        const stepNumber = i + 1;
        const started = await me.projects.startStep(project.id, {
          stepNumber,
          agentName,
          input: { brief: `step ${stepNumber}` },
        });
        expect(started.step).toMatchObject({ status: 'running', stepNumber, agentName });
        expect(started.project).toMatchObject({ status: 'running', currentAgent: agentName });
        if (stepNumber === 5) {
          // The first attempt of agent 5 fails: the project is failed until a retry completes.
          const failed = await me.projects.finishStep(started.step.id, { error: 'timeout' });
          expect(failed.step).toMatchObject({ status: 'failed', error: 'timeout', output: null });
          expect(failed.project).toMatchObject({ status: 'failed', progress: 28 });
          const retry = await me.projects.startStep(project.id, { stepNumber, agentName });
          expect(retry.project.status).toBe('running');
          started.step = retry.step;
        }
        await me.toolExecutions.record({
          projectId: project.id,
          agentLogId: started.step.id,
          toolName: 'write_file',
          arguments: { path: `src/${stepNumber}.ts` },
          result: { bytes: 100 * stepNumber },
          durationMs: 3,
        });
        tools++;
        const done = await me.projects.finishStep(started.step.id, {
          output: { files: [`src/${stepNumber}.ts`] },
        });
        expect(done.step.status).toBe('completed');
        expect(done.step.completedAt).toBeInstanceOf(Date);
        expect(done.step.durationMs).toBeGreaterThanOrEqual(0);
        expect(done.project.progress).toBe(Math.floor((stepNumber * 100) / 14));
        expect(done.project.status).toBe(stepNumber === 14 ? 'completed' : 'running');
      }
      const finished = await me.projects.get(project.id);
      expect(finished).toMatchObject({ status: 'completed', progress: 100 });
      expect(finished.completedAt).toBeInstanceOf(Date);
      const steps = await me.projects.steps(project.id);
      expect(steps).toHaveLength(15);
      expect(steps.map((s) => s.stepNumber)).toEqual([
        1,
        2,
        3,
        4,
        5,
        5,
        ...CHAIN.slice(5).map((_, i) => i + 6),
      ]);
      expect(steps.filter((s) => s.status === 'failed')).toHaveLength(1);
      expect(await me.toolExecutions.listForProject(project.id)).toHaveLength(tools);

      // Refused: a step past the chain, a step on a completed project, finishing twice.
      const other = await me.projects.create({ name: 'Other', totalSteps: 2 });
      await expect(
        me.projects.startStep(other.id, { stepNumber: 3, agentName: 'Agent 3' }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'stepNumber' });
      await expect(
        me.projects.startStep(project.id, { stepNumber: 1, agentName: 'Agent 1' }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'projectId' });
      await expect(me.projects.finishStep(steps[0]!.id, { output: 'again' })).rejects.toMatchObject(
        { code: 'VALIDATION_FAILED', field: 'stepId' },
      );
      await expect(me.projects.create({ name: 'x', totalSteps: 0 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'totalSteps',
      });

      // Bob: nothing of Ada's, and no way to add to it.
      const them = db.forUser(bob.id);
      await expect(them.projects.get(project.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await them.projects.steps(project.id)).toEqual([]);
      expect((await them.projects.list()).items).toEqual([]);
      await expect(
        them.projects.startStep(project.id, { stepNumber: 1, agentName: 'Agent 1' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(them.projects.finishStep(steps[1]!.id, { output: 1 })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(
        them.toolExecutions.record({
          projectId: project.id,
          agentLogId: steps[0]!.id,
          toolName: 'rm',
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await them.toolExecutions.listForProject(project.id)).toEqual([]);
    });

    it('counts every step when a chain of 14 finishes at once', async () => {
      const me = db.forUser(ada.id);
      const project = await me.projects.create({ name: 'Parallel', totalSteps: 14 });
      const steps = [];
      for (const [i, agentName] of CHAIN.entries()) {
        steps.push(
          (await me.projects.startStep(project.id, { stepNumber: i + 1, agentName })).step,
        );
      }
      // Each finish is its own transaction, on the pool's connections at once (Postgres).
      await Promise.all(
        steps.map((s) => db.forUser(ada.id).projects.finishStep(s.id, { output: s.stepNumber })),
      );
      expect(await me.projects.get(project.id)).toMatchObject({
        status: 'completed',
        progress: 100,
      });
    });

    it('lists projects newest first with a cursor', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      for (let i = 0; i < 7; i++) await me.projects.create({ name: `p${i}`, totalSteps: 1 });
      const first = await me.projects.list({ limit: 4 });
      const second = await me.projects.list({ limit: 4, cursor: first.nextCursor });
      const all = [...first.items, ...second.items];
      expect(first.items).toHaveLength(4);
      expect(new Set(all.map((x) => x.id)).size).toBe(7);
      // Newest first: (created_at, id) strictly decreasing across the pages.
      for (let i = 1; i < all.length; i++) {
        const [a, b] = [all[i - 1]!, all[i]!];
        const at = a.createdAt.getTime() - b.createdAt.getTime();
        expect(at > 0 || (at === 0 && a.id > b.id)).toBe(true);
      }
      expect(second.nextCursor).toBeNull();
    });

    it('records tool executions: success, failure, a step of another project refused', async () => {
      const me = db.forUser(ada.id);
      const a = await me.projects.create({ name: 'A', totalSteps: 1 });
      const b = await me.projects.create({ name: 'B', totalSteps: 1 });
      const { step } = await me.projects.startStep(a.id, { stepNumber: 1, agentName: 'Agent 1' });
      const ok = await me.toolExecutions.record({
        projectId: a.id,
        agentLogId: step.id,
        toolName: 'search',
        arguments: { q: 'bakery' },
        result: ['x', 'y'],
        durationMs: 12,
      });
      expect(ok).toMatchObject({
        status: 'success',
        result: ['x', 'y'],
        error: null,
        durationMs: 12,
      });
      const bad = await me.toolExecutions.record({
        projectId: a.id,
        agentLogId: step.id,
        toolName: 'fetch',
        error: 'HTTP 500',
      });
      expect(bad).toMatchObject({ status: 'failed', error: 'HTTP 500', result: null });
      expect((await me.toolExecutions.listForProject(a.id)).map((x) => x.id).sort()).toEqual(
        [ok.id, bad.id].sort(),
      );
      // The step is A's: recording it under B is a step that does not exist there.
      await expect(
        me.toolExecutions.record({ projectId: b.id, agentLogId: step.id, toolName: 'search' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        me.toolExecutions.record({
          projectId: a.id,
          agentLogId: step.id,
          toolName: 'search',
          durationMs: -1,
        }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'durationMs' });
    });

    it('records a deployment and its status changes until it ends', async () => {
      const me = db.forUser(ada.id);
      const project = await me.projects.create({ name: 'Site', totalSteps: 1 });
      const deployment = await me.deployments.record({ projectId: project.id, provider: 'vercel' });
      expect(deployment).toMatchObject({
        status: 'pending',
        url: null,
        logs: '',
        deployedAt: null,
      });
      const building = await me.deployments.setStatus(deployment.id, {
        status: 'building',
        log: 'npm run build',
      });
      expect(building).toMatchObject({ status: 'building', logs: 'npm run build\n' });
      const live = await me.deployments.setStatus(deployment.id, {
        status: 'deployed',
        url: 'https://site.example.test',
        log: 'done',
      });
      expect(live).toMatchObject({
        status: 'deployed',
        url: 'https://site.example.test',
        logs: 'npm run build\ndone\n',
      });
      expect(live.deployedAt).toBeInstanceOf(Date);
      await expect(
        me.deployments.setStatus(deployment.id, { status: 'failed' }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'status' });
      await expect(
        me.deployments.setStatus(deployment.id, { status: 'pending' as never }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'status' });
      const second = await me.deployments.record({ projectId: project.id, provider: 'netlify' });
      const failed = await me.deployments.setStatus(second.id, {
        status: 'failed',
        error: 'quota',
      });
      expect(failed).toMatchObject({ status: 'failed', error: 'quota', deployedAt: null });
      expect(
        (await me.deployments.listForProject(project.id)).map((d) => d.provider).sort(),
      ).toEqual(['netlify', 'vercel']);
      const them = db.forUser(bob.id);
      await expect(them.deployments.get(deployment.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(
        them.deployments.setStatus(second.id, { status: 'building' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        them.deployments.record({ projectId: project.id, provider: 'vercel' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await them.deployments.listForProject(project.id)).toEqual([]);
    });

    it('opens CLI sessions with a token shown once, moves last_seen on heartbeat, finds, closes', async () => {
      const me = db.forUser(ada.id);
      const { session, token } = await me.cliSessions.open({
        machineName: 'ada-laptop',
        machineInfo: { os: 'linux' },
      });
      expect(session).toMatchObject({ userId: ada.id, machineName: 'ada-laptop', heartbeats: 0 });
      expect(session).not.toHaveProperty('tokenHash');
      // Only a hash is stored: the token itself is nowhere in the row.
      const [stored] = await asService((tx) =>
        tx.db.select().from(tx.table(schema.cliSessions)).where(sql`id = ${session.id}`),
      );
      expect(stored!.tokenHash).not.toBe(token);
      expect(JSON.stringify(stored)).not.toContain(token);

      // The heartbeat sets no time: the database moves last_seen.
      await pause(30);
      const beat = await me.cliSessions.heartbeat(session.id);
      expect(beat.heartbeats).toBe(1);
      expect(beat.lastSeen.getTime()).toBeGreaterThan(session.lastSeen.getTime());
      // So does any other update of the row, even raw SQL that does not name the column.
      await pause(30);
      await asService((tx) =>
        tx.db
          .update(tx.table(schema.cliSessions))
          .set({ machineName: 'ada-desktop' })
          .where(sql`id = ${session.id}`),
      );
      const [moved] = await me.cliSessions.list();
      expect(moved).toMatchObject({ id: session.id, machineName: 'ada-desktop' });
      expect(moved!.lastSeen.getTime()).toBeGreaterThan(beat.lastSeen.getTime());

      const gateway = db.asService('cli gateway');
      expect(await gateway.cliSessions.findByToken(token)).toMatchObject({
        id: session.id,
        userId: ada.id,
      });
      expect(await gateway.cliSessions.findByToken(`${token}x`)).toBeNull();
      await expect(me.cliSessions.findByToken(token)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      const them = db.forUser(bob.id);
      await expect(them.cliSessions.heartbeat(session.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(them.cliSessions.close(session.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await them.cliSessions.list()).toEqual([]);
      await me.cliSessions.close(session.id);
      expect(await gateway.cliSessions.findByToken(token)).toBeNull();
      await expect(me.cliSessions.heartbeat(session.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('purges sessions not seen for longer than a given age, of every user', async () => {
      const user = await newUser();
      const fresh = await db.forUser(user.id).cliSessions.open({ machineName: 'fresh' });
      const old = await db.forUser(bob.id).cliSessions.open({ machineName: 'old' });
      // A session last seen two hours ago (an insert: the trigger moves it on updates only).
      await asService((tx) =>
        tx.db.insert(tx.table(schema.cliSessions)).values({
          userId: user.id,
          tokenHash: `stale-${user.id}`,
          machineName: 'stale',
          lastSeen: new Date(Date.now() - 2 * 3600_000),
        }),
      );
      await expect(db.forUser(user.id).cliSessions.purgeStale(3600_000)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      const janitor = db.asService('cli session purge');
      expect(await janitor.cliSessions.purgeStale(3600_000)).toBe(1);
      expect((await db.forUser(user.id).cliSessions.list()).map((s) => s.machineName)).toEqual([
        'fresh',
      ]);
      expect(await janitor.cliSessions.findByToken(old.token)).not.toBeNull();
      expect(await janitor.cliSessions.findByToken(fresh.token)).not.toBeNull();
      await expect(janitor.cliSessions.purgeStale(-1)).rejects.toBeInstanceOf(ValidationError);
    });

    it('keeps chat sessions: create, list with a cursor, rename, delete', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const made = [];
      for (let i = 0; i < 25; i++) made.push(await me.chatSessions.create({ title: `chat ${i}` }));
      const untitled = await me.chatSessions.create();
      expect(untitled).toMatchObject({ title: 'New chat', userId: user.id, metadata: {} });
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof me.chatSessions.list>> = await me.chatSessions.list({
          limit: 10,
          cursor,
        });
        seen.push(...page.items.map((s) => s.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(3);
      expect(new Set(seen)).toEqual(new Set([...made, untitled].map((s) => s.id)));
      const renamed = await me.chatSessions.rename(made[0]!.id, 'Bakery ideas');
      expect(renamed.title).toBe('Bakery ideas');
      expect(renamed.updatedAt.getTime()).toBeGreaterThanOrEqual(made[0]!.updatedAt.getTime());
      await expect(me.chatSessions.rename(made[0]!.id, '  ')).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'title',
      });
      const them = db.forUser(bob.id);
      await expect(them.chatSessions.get(made[0]!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(them.chatSessions.rename(made[0]!.id, 'mine')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(them.chatSessions.delete(made[0]!.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect((await them.chatSessions.list()).items).toEqual([]);
      await me.chatSessions.delete(made[0]!.id);
      await expect(me.chatSessions.get(made[0]!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(me.chatSessions.list({ cursor: 'bogus' })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    it('saves prompt templates with their variables and renders them', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const saved = await me.prompts.save({
        name: 'Blog post',
        content: 'Write about {{topic}} in a {{ tone }} tone. Mention {{topic}} twice.',
        category: 'writing',
      });
      expect(saved).toMatchObject({ userId: user.id, variables: ['topic', 'tone'] });
      expect(await me.prompts.render(saved.id, { topic: 'bread', tone: 'warm', unused: 'x' })).toBe(
        'Write about bread in a warm tone. Mention bread twice.',
      );
      const missing = await me.prompts.render(saved.id, { topic: 'bread' }).catch((e) => e);
      expect(missing).toBeInstanceOf(ValidationError);
      expect(missing).toMatchObject({ code: 'VALIDATION_FAILED', field: 'variables.tone' });
      expect((missing as Error).message).toContain('tone');
      // Saving a name again replaces that template (same id).
      const replaced = await me.prompts.save({ name: 'Blog post', content: 'Plain {{ x }}' });
      expect(replaced).toMatchObject({ id: saved.id, variables: ['x'], category: null });
      await me.prompts.save({ name: 'Answer', content: 'No variables here.' });
      expect((await me.prompts.list()).map((x) => x.name)).toEqual(['Answer', 'Blog post']);
      expect(await me.prompts.render(saved.id, { x: 42 })).toBe('Plain 42');
      const them = db.forUser(bob.id);
      expect(await them.prompts.list()).toEqual([]);
      await expect(them.prompts.render(saved.id, { x: 1 })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(them.prompts.delete(saved.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await me.prompts.delete(saved.id);
      expect((await me.prompts.list()).map((x) => x.name)).toEqual(['Answer']);
    });

    it('appends chat messages to the user’s own session and pages them newest first', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const chat = await me.chatSessions.create({ title: 'Bakery', model: 'gpt-4o' });
      const system = await me.chatMessages.append({
        chatSessionId: chat.id,
        role: 'system',
        content: 'You are a baker.',
      });
      expect(system).toMatchObject({
        chatSessionId: chat.id,
        userId: user.id,
        role: 'system',
        model: null,
        promptTokens: null,
        completionTokens: null,
        metadata: {},
      });
      expect(system.createdAt).toBeInstanceOf(Date);
      // Content is kept as given: leading spaces of a code block, trailing newline.
      const asked = await me.chatMessages.append({
        chatSessionId: chat.id,
        role: 'user',
        content: '    indented code\n',
      });
      expect(asked.content).toBe('    indented code\n');
      const answer = await me.chatMessages.append({
        chatSessionId: chat.id,
        role: 'assistant',
        content: 'Sourdough.',
        model: 'gpt-4o',
        promptTokens: 42,
        completionTokens: 7,
        metadata: { finishReason: 'stop' },
      });
      expect(answer).toMatchObject({
        role: 'assistant',
        model: 'gpt-4o',
        promptTokens: 42,
        completionTokens: 7,
        metadata: { finishReason: 'stop' },
      });
      // A service (the model gateway) appends for the user it names.
      const gateway = db.asService('model gateway');
      const followUp = await gateway.chatMessages.append(
        { chatSessionId: chat.id, role: 'assistant', content: 'Anything else?', model: 'gpt-4o' },
        user.id,
      );
      expect(followUp.userId).toBe(user.id);
      // Several in one transaction (one created_at on Postgres) keep the order they were
      // appended in.
      const batch = await me.transaction(async (r) => {
        const out = [];
        for (let i = 0; i < 5; i++) {
          out.push(
            await r.chatMessages.append({ chatSessionId: chat.id, role: 'user', content: `b${i}` }),
          );
        }
        return out;
      });
      for (let i = 0; i < 30; i++) {
        batch.push(
          await me.chatMessages.append({ chatSessionId: chat.id, role: 'user', content: `m${i}` }),
        );
      }
      const appended = [system, asked, answer, followUp, ...batch];
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof me.chatMessages.list>> = await me.chatMessages.list(
          chat.id,
          { limit: 10, cursor },
        );
        seen.push(...page.items.map((m) => m.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(4);
      expect(seen).toEqual(appended.map((m) => m.id).reverse());
      // Another chat of the same user holds none of them.
      const other = await me.chatSessions.create();
      expect(await me.chatMessages.list(other.id)).toEqual({ items: [], nextCursor: null });

      // Refused before any SQL, naming the field.
      const bad = (input: object, field: string) =>
        expect(
          me.chatMessages.append({ chatSessionId: chat.id, role: 'user', content: 'x', ...input }),
        ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field });
      await bad({ role: 'agent' }, 'role');
      await bad({ content: '   ' }, 'content');
      await bad({ promptTokens: -1 }, 'promptTokens');
      await bad({ completionTokens: 1.5 }, 'completionTokens');
      await bad({ chatSessionId: 'nope' }, 'chatSessionId');
      await expect(me.chatMessages.list(chat.id, { limit: 0 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'limit',
      });
      await expect(
        me.chatMessages.append({
          chatSessionId: '00000000-0000-4000-8000-000000000000',
          role: 'user',
          content: 'x',
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });

      // Bob can neither read Ada's chat nor append to it, nor make a service do it for him.
      const them = db.forUser(bob.id);
      expect(await them.chatMessages.list(chat.id)).toEqual({ items: [], nextCursor: null });
      await expect(
        them.chatMessages.append({ chatSessionId: chat.id, role: 'user', content: 'mine' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        gateway.chatMessages.append({ chatSessionId: chat.id, role: 'user', content: 'x' }, bob.id),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await me.chatMessages.list(chat.id, { limit: 200 })).items).toHaveLength(
        appended.length,
      );
    });

    it('deletes a chat session’s messages with it, and only its', async () => {
      const user = await newUser();
      const me = db.forUser(user.id);
      const doomed = await me.chatSessions.create({ title: 'doomed' });
      const kept = await me.chatSessions.create({ title: 'kept' });
      for (let i = 0; i < 3; i++) {
        await me.chatMessages.append({ chatSessionId: doomed.id, role: 'user', content: `d${i}` });
      }
      const survivor = await me.chatMessages.append({
        chatSessionId: kept.id,
        role: 'user',
        content: 'stays',
      });
      const count = (sessionId: string) =>
        asService(async (tx) => {
          const [row] = await tx.execute<{ n: number | string }>(
            sql`select count(*) as n from messages where chat_session_id = ${sessionId}`,
          );
          return Number(row?.n);
        });
      expect(await count(doomed.id)).toBe(3);
      await me.chatSessions.delete(doomed.id);
      expect(await count(doomed.id)).toBe(0);
      expect((await me.chatMessages.list(kept.id)).items.map((m) => m.id)).toEqual([survivor.id]);
      // Deleting the user deletes the rest.
      await asService((tx) => tx.execute(sql`delete from users where id = ${user.id}`));
      expect(await count(kept.id)).toBe(0);
    });

    it('keeps a message to a conversation or a chat, never both, never another user’s chat', async () => {
      const chat = await db.forUser(ada.id).chatSessions.create({ title: 'constraints' });
      const conversation = randomUUID();
      await asService((tx) =>
        tx.execute(
          sql`insert into conversations (id, user_id) values (${conversation}, ${ada.id})`,
        ),
      );
      const insert = (m: {
        conversationId?: string | null;
        chatSessionId?: string | null;
        userId?: string;
        parentMessageId?: string | null;
        senderType?: string;
        promptTokens?: number | null;
      }) => {
        const id = randomUUID();
        return asService((tx) =>
          tx.execute(
            sql`insert into messages (id, conversation_id, chat_session_id, user_id, parent_message_id, sender_type, content, prompt_tokens)
                values (${id}, ${m.conversationId ?? null}, ${m.chatSessionId ?? null}, ${m.userId ?? ada.id},
                        ${m.parentMessageId ?? null}, ${m.senderType ?? 'user'}, 'raw', ${m.promptTokens ?? null})`,
          ),
        ).then(() => id);
      };
      // Seed 001's threaded messages are unchanged: a reply in its conversation, any sender type.
      const root = await insert({ conversationId: conversation, senderType: 'agent' });
      await insert({ conversationId: conversation, parentMessageId: root });
      const inChat = await insert({ chatSessionId: chat.id, senderType: 'assistant' });
      await expect(
        insert({ conversationId: conversation, chatSessionId: chat.id }),
      ).rejects.toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'messages_parent_check' });
      await expect(insert({})).rejects.toMatchObject({
        code: 'CHECK_VIOLATION',
        constraint: 'messages_parent_check',
      });
      // A chat is flat, and its sender types are the three roles.
      await expect(
        insert({ chatSessionId: chat.id, parentMessageId: inChat }),
      ).rejects.toMatchObject({ code: 'CHECK_VIOLATION', constraint: 'messages_parent_check' });
      await expect(insert({ chatSessionId: chat.id, senderType: 'agent' })).rejects.toMatchObject({
        code: 'CHECK_VIOLATION',
        constraint: 'messages_parent_check',
      });
      await expect(insert({ chatSessionId: chat.id, promptTokens: -1 })).rejects.toMatchObject({
        code: 'CHECK_VIOLATION',
        constraint: 'messages_tokens_check',
      });
      // Even a service cannot file Bob's message into Ada's chat: (chat, owner) is the key.
      await expect(insert({ chatSessionId: chat.id, userId: bob.id })).rejects.toMatchObject({
        code: 'FOREIGN_KEY_VIOLATION',
      });
    });

    // Postgres only: SQLite has no roles; there the repositories' owner filter is the rule.
    if (dialect === 'postgres') {
      it('row-level security: raw SQL as the application role sees only the acting user’s rows', async () => {
        const me = db.forUser(ada.id);
        const project = await me.projects.create({ name: 'RLS', totalSteps: 1 });
        const { step } = await me.projects.startStep(project.id, {
          stepNumber: 1,
          agentName: 'Agent 1',
        });
        await me.toolExecutions.record({
          projectId: project.id,
          agentLogId: step.id,
          toolName: 't',
        });
        await me.deployments.record({ projectId: project.id, provider: 'vercel' });
        await me.cliSessions.open({ machineName: 'rls' });
        await me.chatSessions.create({ title: 'rls' });
        await me.prompts.save({ name: 'rls', content: 'x' });
        const tables = TABLES;
        const count = (user: string | null, table: string) =>
          p.app!.transaction(async (tx) => {
            if (user) await tx.execute(sql`select exora_set_actor(${user}, null, false)`);
            const rows = (await tx.execute(
              sql.raw(
                `select count(*)::int as n, count(*) filter (where user_id <> '${ada.id}')::int as others from ${table}`,
              ),
            )) as unknown as { n: number; others: number }[];
            return rows[0]!;
          });
        for (const table of tables) {
          // Ada sees her rows only; Bob none of hers; no actor, nothing.
          const mine = await count(ada.id, table);
          expect({ table, others: mine.others, some: mine.n > 0 }).toEqual({
            table,
            others: 0,
            some: true,
          });
          const bobs = await count(bob.id, table);
          expect({ table, n: bobs.n - bobs.others }).toEqual({ table, n: 0 });
          expect({ table, ...(await count(null, table)) }).toEqual({ table, n: 0, others: 0 });
        }
        // Nor can Bob write Ada's rows or plant his own into her project.
        const bobWrites = await p.app!.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${bob.id}, null, false)`);
          return tx.execute(
            sql`update projects set name = 'mine' where id = ${project.id} returning id`,
          );
        });
        expect(bobWrites).toHaveLength(0);
        await expect(
          p.app!.transaction(async (tx) => {
            await tx.execute(sql`select exora_set_actor(${bob.id}, null, false)`);
            await tx.execute(
              sql`insert into agent_logs (project_id, user_id, step_number, agent_name, started_at) values (${project.id}, ${ada.id}, 1, 'x', now())`,
            );
          }),
        ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
      });
    }

    if (dialect === 'postgres') {
      it('row-level security on chat messages: another user neither reads nor appends, as raw SQL', async () => {
        const chat = await db.forUser(ada.id).chatSessions.create({ title: 'rls messages' });
        for (const content of ['one', 'two']) {
          await db
            .forUser(ada.id)
            .chatMessages.append({ chatSessionId: chat.id, role: 'user', content });
        }
        const as = <R>(user: string | null, fn: (tx: Executor) => Promise<R>) =>
          p.app!.transaction(async (tx) => {
            if (user) await tx.execute(sql`select exora_set_actor(${user}, null, false)`);
            return fn(tx);
          });
        const visible = (user: string | null) =>
          as(user, async (tx) => {
            const rows = (await tx.execute(
              sql`select count(*)::int as n from messages where chat_session_id = ${chat.id}`,
            )) as unknown as { n: number }[];
            return rows[0]!.n;
          });
        expect(await visible(ada.id)).toBe(2);
        expect(await visible(bob.id)).toBe(0);
        expect(await visible(null)).toBe(0);
        // Bob writing as Ada: the policy refuses; as himself: the (chat, owner) key does.
        const append = (userId: string) =>
          as(bob.id, (tx) =>
            tx.execute(
              sql`insert into messages (chat_session_id, user_id, sender_type, content) values (${chat.id}, ${userId}, 'user', 'planted')`,
            ),
          );
        await expect(append(ada.id)).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        await expect(append(bob.id)).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' });
        const changed = await as(bob.id, (tx) =>
          tx.execute(
            sql`update messages set content = 'x' where chat_session_id = ${chat.id} returning id`,
          ),
        );
        expect(changed).toHaveLength(0);
        const deleted = await as(bob.id, (tx) =>
          tx.execute(sql`delete from messages where chat_session_id = ${chat.id} returning id`),
        );
        expect(deleted).toHaveLength(0);
        expect(await visible(ada.id)).toBe(2);
      });
    }

    /** Raw SQL as the migration owner, as a service (row-level security settings on Postgres). */
    const asOwner = <R>(owner: Database, fn: (tx: Executor) => Promise<R>) =>
      owner.transaction(async (tx) => {
        if (dialect === 'postgres') await tx.setLocal({ 'app.service': 'on' });
        return fn(tx);
      });
    const messageIds = (owner: Database) =>
      asOwner(owner, async (tx) =>
        (await tx.execute<{ id: string }>(sql`select id from messages`)).map((r) => r.id),
      );
    const threaded = randomUUID();

    /**
     * The migration named `suffix` on a fresh database with the history up to it: rolled back,
     * the database verifies exactly as before it; forward again, exactly as after it.
     * `hooks.applied` runs between the migration and its rollback, `hooks.end` after the
     * migration ran again, both on the database as the migration owner.
     */
    async function roundTrip(
      suffix: string,
      creates: RegExp,
      tables: readonly string[],
      hooks: {
        applied?(ctx: {
          db: Database;
          rollback(): Promise<unknown>;
          verify(): Promise<unknown>;
          after: unknown;
        }): Promise<void>;
        end?(db: Database): Promise<void>;
      } = {},
    ) {
      const source = await loadSource();
      // Two copies of the committed history: up to this migration, and before it (later
      // migrations, of other work, are left out of both).
      const upTo = copyDir(defaultMigrationsDir());
      const before = copyDir(defaultMigrationsDir());
      const files = readMigrations(upTo, dialect);
      const at = files.findIndex((f) => f.name.endsWith(suffix));
      const mine = files[at];
      expect(mine?.up).toMatch(creates);
      const drop = (dir: string, from: number) => {
        for (const f of readMigrations(dir, dialect).slice(from)) {
          for (const path of [f.upPath, f.downPath, f.snapshotPath]) rmSync(path);
        }
      };
      drop(upTo, at + 1);
      drop(before, at);
      const fresh = await freshDatabase(dialect);
      // Through the pooler too, when there is one: the migrations' lock is transaction-scoped.
      const target = p.pooler ? connect(p.pooler.via(fresh.url)) : fresh.db;
      try {
        await migrate(target, before);
        // What `db:verify --json` reports, with the history up to this migration.
        const earlier = await verify(target, source, upTo);
        expect(earlier.ok).toBe(false);
        expect(earlier.migrations?.pending).toEqual([mine?.name]);
        await migrate(target, upTo);
        const later = await verify(target, source, upTo);
        const ours = new Set(tables);
        expect(later.differences.filter((d) => ours.has(d.table ?? ''))).toEqual([]);
        expect(later.migrations?.pending).toEqual([]);
        await hooks.applied?.({
          db: target,
          rollback: () => rollback(target, upTo),
          verify: () => verify(target, source, upTo),
          after: later,
        });
        expect((await rollback(target, upTo)).rolledBack).toEqual([mine?.name]);
        expect(await verify(target, source, upTo)).toEqual(earlier);
        await migrate(target, upTo);
        expect(await verify(target, source, upTo)).toEqual(later);
        await hooks.end?.(target);
      } finally {
        if (target !== fresh.db) await target.close();
        await fresh.dispose();
        rmSync(upTo, { recursive: true, force: true });
        rmSync(before, { recursive: true, force: true });
      }
    }

    it('rolls this migration back to exactly the verified state before it, and forward again', async () => {
      await roundTrip(
        '_projects_chat_sessions_prompts',
        /CREATE TABLE [`"]cli_sessions[`"]/,
        TABLES,
      );
    });

    it('rolls the chat messages migration back to exactly the state before it; refused while chat messages exist', async () => {
      await roundTrip(
        '_seed_003_chat_messages',
        /[`"]chat_session_id[`"]/,
        ['messages', 'chat_sessions'],
        {
          async applied({ db: owner, rollback: undo, verify: check, after }) {
            const user = randomUUID();
            const chat = randomUUID();
            const conversation = randomUUID();
            await asOwner(owner, async (tx) => {
              await tx.execute(
                sql`insert into users (id, email) values (${user}, ${`rollback-${user}@example.test`})`,
              );
              await tx.execute(
                sql`insert into chat_sessions (id, user_id) values (${chat}, ${user})`,
              );
              await tx.execute(
                sql`insert into conversations (id, user_id) values (${conversation}, ${user})`,
              );
              await tx.execute(
                sql`insert into messages (id, conversation_id, user_id, sender_type, content) values (${threaded}, ${conversation}, ${user}, 'user', 'threaded')`,
              );
              await tx.execute(
                sql`insert into messages (chat_session_id, user_id, sender_type, content, model, prompt_tokens) values (${chat}, ${user}, 'assistant', 'chat', 'm', 3)`,
              );
            });
            // The earlier shape has no place for a chat's message: the rollback fails as a
            // whole and leaves the database exactly as it was.
            await expect(undo()).rejects.toThrow(
              /failed at statement .*Not-null constraint violated \(table (__new_)?messages, column conversation_id\)/,
            );
            expect(await check()).toEqual(after);
            expect(await messageIds(owner)).toHaveLength(2);
            await asOwner(owner, (tx) =>
              tx.execute(sql`delete from messages where chat_session_id is not null`),
            );
          },
          // A conversation's message survives the rollback and the migration again.
          async end(owner) {
            expect(await messageIds(owner)).toEqual([threaded]);
          },
        },
      );
    });
  });
}
