/**
 * The recorder domain end to end, on a database pushed from `drizzle/`, through `createDb`
 * (Postgres: as the application role, row-level security in force).
 */
import type { Dialect } from '@exora/core';
import type { ExoraDb, PublicUser } from '@exora/db';
import { screenshotHash } from '@exora/recorder';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asServiceTx, type Platform, platform } from './platform.ts';

interface Company {
  organizationId: string;
  admin: PublicUser;
  member: PublicUser;
}

const step = (n: number) => ({
  actionType: 'click',
  selectors: { css: `#button-${n}` },
  elementMeta: { tag: 'button', text: `Button ${n}` },
  pageContext: { url: `https://app.example.test/page/${n}` },
  actionData: n % 2 === 0 ? { value: `typed ${n}` } : null,
  fieldLabel: `Step ${n}`,
});

export function recorderSuite(dialect: Dialect) {
  describe(`recorder: workflows, steps, screenshots, health logs, notifications (${dialect})`, () => {
    let p: Platform;
    let db: ExoraDb;
    let acme: Company;
    let globex: Company;
    let loner: PublicUser;
    let n = 0;

    const company = async (label: string): Promise<Company> => {
      const signup = db.asService('signup');
      const admin = await signup.users.create({ email: `${label}-${n++}-admin@example.test` });
      const { organization, inviteToken } = await db
        .forUser(admin.id)
        .organizations.create({ name: label });
      const member = await signup.users.create({
        email: `${label}-${n++}-member@example.test`,
        inviteToken,
      });
      return { organizationId: organization.id, admin, member };
    };

    /** Raw SQL as a service (what a maintenance job would send). */
    const asService = <R extends Record<string, unknown>>(query: ReturnType<typeof sql>) =>
      asServiceTx(db, (tx) => tx.execute<R>(query));

    /** A new member of acme (a fresh invite token). */
    const joinAcme = async (label: string) => {
      const inviteToken = await db
        .forUser(acme.admin.id)
        .organizations.rotateInviteToken(acme.organizationId);
      return db
        .asService('signup')
        .users.create({ email: `${label}-${n++}@example.test`, inviteToken });
    };

    const numbers = async (workflowId: string, user: PublicUser) =>
      (await db.forUser(user.id).steps.list(workflowId)).map((s) => [s.fieldLabel, s.stepNumber]);

    beforeAll(async () => {
      p = await platform(dialect);
      db = p.db;
      acme = await company('acme');
      globex = await company('globex');
      loner = await db.asService('signup').users.create({ email: 'loner@example.test' });
    });
    afterAll(async () => {
      await p?.dispose();
    });

    it('records a workflow with its steps in one call, for the organization only', async () => {
      const me = db.forUser(acme.member.id);
      const { workflow, steps } = await me.workflows.record({
        name: 'Create invoice',
        tags: ['billing', 'daily'],
        steps: [step(1), step(2), step(3)],
      });
      expect(workflow).toMatchObject({
        organizationId: acme.organizationId,
        createdBy: acme.member.id,
        status: 'draft',
        tags: ['billing', 'daily'],
        totalRuns: 0,
        successRate: 0,
      });
      expect(steps.map((s) => s.stepNumber)).toEqual([1, 2, 3]);
      expect(steps[1]).toMatchObject({
        organizationId: acme.organizationId,
        actionData: { value: 'typed 2' },
        selectors: { css: '#button-2' },
        labelEdited: false,
      });
      // Every member of the organization sees it; nobody else does.
      expect((await db.forUser(acme.admin.id).workflows.get(workflow.id)).name).toBe(
        'Create invoice',
      );
      await expect(db.forUser(globex.admin.id).workflows.get(workflow.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(await db.forUser(globex.admin.id).steps.list(workflow.id)).toEqual([]);
      expect((await db.forUser(globex.member.id).workflows.list()).map((w) => w.id)).not.toContain(
        workflow.id,
      );
      await expect(
        db.forUser(globex.admin.id).steps.insert(workflow.id, step(9)),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(db.forUser(loner.id).workflows.record({ name: 'x' })).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
      // A failed step rolls the whole recording back.
      const before = (await me.workflows.list()).length;
      await expect(
        me.workflows.record({
          name: 'Half',
          steps: [step(1), { ...step(2), screenshotId: crypto.randomUUID() }],
        }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', field: 'steps.screenshotId' });
      expect((await me.workflows.list()).length).toBe(before);
      const service = db.asService('import');
      const imported = await service.workflows.record({
        name: 'Imported',
        organizationId: globex.organizationId,
        steps: [step(1)],
      });
      expect(imported.workflow).toMatchObject({
        organizationId: globex.organizationId,
        createdBy: null,
      });
      expect(
        (await service.workflows.list({ organizationId: globex.organizationId })).map((w) => w.id),
      ).toContain(imported.workflow.id);
    });

    it('inserts, moves, reorders and deletes steps keeping 1..n dense and unique', async () => {
      const me = db.forUser(acme.member.id);
      const { workflow, steps } = await me.workflows.record({
        name: 'Ordering',
        steps: [step(1), step(2), step(3), step(4)],
      });
      const w = workflow.id;
      const [s1, s2, s3, s4] = steps.map((s) => s.id) as [string, string, string, string];
      await me.steps.insert(w, step(5), 2);
      expect(await numbers(w, acme.member)).toEqual([
        ['Step 1', 1],
        ['Step 5', 2],
        ['Step 2', 3],
        ['Step 3', 4],
        ['Step 4', 5],
      ]);
      await me.steps.insert(w, step(6));
      const moved = await me.steps.move(s4, 1);
      expect(moved.map((s) => s.fieldLabel)).toEqual([
        'Step 4',
        'Step 1',
        'Step 5',
        'Step 2',
        'Step 3',
        'Step 6',
      ]);
      await me.steps.move(s4, 6);
      expect((await me.steps.list(w)).map((s) => s.fieldLabel)).toEqual([
        'Step 1',
        'Step 5',
        'Step 2',
        'Step 3',
        'Step 6',
        'Step 4',
      ]);
      expect(await me.steps.delete(s2)).toBe(true);
      expect(await me.steps.delete(s2)).toBe(false);
      expect(await numbers(w, acme.member)).toEqual([
        ['Step 1', 1],
        ['Step 5', 2],
        ['Step 3', 3],
        ['Step 6', 4],
        ['Step 4', 5],
      ]);
      const ids = (await me.steps.list(w)).map((s) => s.id).reverse();
      const reordered = await me.steps.reorder(w, ids);
      expect(reordered.map((s) => s.id)).toEqual(ids);
      expect(reordered.map((s) => s.stepNumber)).toEqual([1, 2, 3, 4, 5]);
      // Refused without a change: a missing step, a foreign id, a repeated one, a bad position.
      const unchanged = await numbers(w, acme.member);
      await expect(me.steps.reorder(w, ids.slice(1))).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(
        me.steps.reorder(w, [...ids.slice(1), crypto.randomUUID()]),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(me.steps.reorder(w, [ids[0]!, ...ids.slice(0, 4)])).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(me.steps.move(s1, 7)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(me.steps.insert(w, step(7), 0)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      expect(await numbers(w, acme.member)).toEqual(unchanged);
      await expect(db.forUser(globex.member.id).steps.move(s3, 1)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect(await db.forUser(globex.member.id).steps.delete(s3)).toBe(false);

      // Concurrent edits of one workflow: each applies whole, and 1..n holds after all of them.
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 6; i++) ops.push(me.steps.insert(w, step(10 + i), 1 + (i % 3)));
      ops.push(me.steps.move(s1, 2), me.steps.delete(s3), me.steps.move(s4, 1));
      await Promise.all(ops);
      const after = await me.steps.list(w);
      expect(after.map((s) => s.stepNumber)).toEqual(after.map((_, i) => i + 1));
      expect(after).toHaveLength(5 - 1 + 6);
    });

    it('edits labels and instructions (admin edit tracking) and records healing', async () => {
      const admin = db.forUser(acme.admin.id);
      const { steps } = await admin.workflows.record({ name: 'Edits', steps: [step(1)] });
      const edited = await admin.steps.edit(steps[0]!.id, { instruction: 'Click Save' });
      expect(edited).toMatchObject({
        instruction: 'Click Save',
        fieldLabel: 'Step 1',
        instructionEdited: true,
        labelEdited: false,
        editedBy: acme.admin.id,
      });
      expect(edited.editedAt).toBeInstanceOf(Date);
      const healed = await admin.steps.recordHealing(steps[0]!.id, {
        selectors: { css: '#save' },
        confidence: 0.92,
        method: 'ai',
      });
      expect(healed).toMatchObject({
        healedSelectors: { css: '#save' },
        healingConfidence: 0.92,
        healingMethod: 'ai',
      });
      await expect(
        db.forUser(globex.admin.id).steps.edit(steps[0]!.id, { fieldLabel: 'x' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('stores a screenshot once per content, even when stored concurrently', async () => {
      const me = db.forUser(acme.member.id);
      const { workflow } = await me.workflows.record({ name: 'Shots' });
      const bytes = new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
      const first = await me.screenshots.store(bytes, {
        storageKey: 'shots/a.png',
        storageBucket: 'recordings',
        workflowId: workflow.id,
        width: 1280,
        height: 800,
      });
      expect(first).toMatchObject({
        hash: screenshotHash(bytes),
        sizeBytes: 4096,
        workflowId: workflow.id,
        storageKey: 'shots/a.png',
      });
      const again = await me.screenshots.store(bytes.slice(), { storageKey: 'shots/b.png' });
      expect(again).toMatchObject({ id: first.id, storageKey: 'shots/a.png' });
      const other = new Uint8Array(bytes);
      other[0] = 255;
      const racers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          db.forUser(i % 2 ? acme.admin.id : acme.member.id).screenshots.store(other, {
            storageKey: `shots/race-${i}.png`,
            workflowId: workflow.id,
          }),
        ),
      );
      expect(new Set(racers.map((r) => r.id)).size).toBe(1);
      expect((await me.screenshots.findByHash(screenshotHash(other)))?.id).toBe(racers[0]!.id);
      // Another organization's identical bytes are its own row; it cannot see acme's.
      const theirs = await db.forUser(globex.member.id).screenshots.store(bytes, {
        storageKey: 'globex/a.png',
      });
      expect(theirs.id).not.toBe(first.id);
      await expect(db.forUser(globex.member.id).screenshots.get(first.id)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(
        db.forUser(globex.member.id).screenshots.store(new Uint8Array([1]), {
          storageKey: 'x',
          workflowId: workflow.id,
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        me.screenshots.store(new Uint8Array(), { storageKey: 'x' }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('logs runs and keeps success rate and failure counters in the same transaction', async () => {
      const me = db.forUser(acme.member.id);
      const { workflow, steps } = await me.workflows.record({
        name: 'Runs',
        status: 'active',
        steps: [step(1), step(2)],
      });
      const ok = await me.healthLogs.log(workflow.id, { status: 'success', executionTimeMs: 1200 });
      expect(ok.log).toMatchObject({ status: 'success', organizationId: acme.organizationId });
      expect(ok.workflow).toMatchObject({ totalRuns: 1, successfulRuns: 1, successRate: 1 });
      const healed = await me.healthLogs.log(workflow.id, {
        status: 'healed',
        stepId: steps[1]!.id,
        healingConfidence: 0.8,
        healingMethod: 'deterministic',
      });
      expect(healed.workflow).toMatchObject({ totalRuns: 2, successfulRuns: 2 });
      const failed = await me.healthLogs.log(workflow.id, {
        status: 'failure',
        stepId: steps[0]!.id,
        errorType: 'element_not_found',
      });
      expect(failed.workflow).toMatchObject({
        totalRuns: 3,
        successfulRuns: 2,
        failedRuns: 1,
        consecutiveFailures: 1,
        status: 'active',
      });
      expect(failed.workflow.successRate).toBeCloseTo(2 / 3, 10);
      expect(failed.workflow.lastFailedRunAt).toBeInstanceOf(Date);
      const logs = await me.healthLogs.list(workflow.id);
      expect(logs.map((l) => l.status).sort()).toEqual(['failure', 'healed', 'success']);
      await expect(
        db.forUser(globex.member.id).healthLogs.log(workflow.id, { status: 'success' }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await me.workflows.get(workflow.id)).totalRuns).toBe(3);
      await expect(
        me.healthLogs.log(workflow.id, { status: 'maybe' as never }),
      ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('turns a workflow broken after three failures in a row and notifies once', async () => {
      const me = db.forUser(acme.member.id);
      const { workflow } = await me.workflows.record({ name: 'Fragile', status: 'active' });
      const unreadBefore = (await me.notifications.listUnread()).length;
      // Concurrent failures: each counted, exactly one turns it broken and raises the alert.
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          me.healthLogs.log(workflow.id, { status: 'failure', errorType: 'timeout' }),
        ),
      );
      expect(results.map((r) => r.workflow.consecutiveFailures).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      const now = await me.workflows.get(workflow.id);
      expect(now).toMatchObject({ status: 'broken', failedRuns: 6, consecutiveFailures: 6 });
      const unread = await me.notifications.listUnread();
      expect(unread.length).toBe(unreadBefore + 1);
      expect(unread[0]).toMatchObject({
        workflowId: workflow.id,
        type: 'workflow_broken',
        severity: 'error',
        read: false,
      });
      // Setting it broken again changes nothing; from active by hand notifies again.
      await me.workflows.setStatus(workflow.id, 'broken');
      expect((await me.notifications.listUnread()).length).toBe(unreadBefore + 1);
      await me.workflows.setStatus(workflow.id, 'active');
      expect((await me.workflows.setStatus(workflow.id, 'broken')).status).toBe('broken');
      expect((await me.notifications.listUnread()).length).toBe(unreadBefore + 2);
      expect(await db.forUser(globex.member.id).notifications.listUnread()).toEqual([]);
      // A success resets the streak without leaving broken.
      const ok = await me.healthLogs.log(workflow.id, { status: 'success' });
      expect(ok.workflow).toMatchObject({ consecutiveFailures: 0, status: 'broken' });
    });

    it('marks notifications read by a user; deleting that user keeps them read', async () => {
      const reader = await joinAcme('reader');
      const admin = db.forUser(acme.admin.id);
      const { workflow } = await admin.workflows.record({ name: 'Alerts' });
      const alert = await admin.notifications.create({
        workflowId: workflow.id,
        type: 'low_confidence',
        severity: 'warning',
        title: 'Healing confidence low',
        message: 'Review step 2',
      });
      expect(alert).toMatchObject({ read: false, readBy: null, severity: 'warning' });
      const read = await db.forUser(reader.id).notifications.markRead(alert.id);
      expect(read).toMatchObject({ read: true, readBy: reader.id });
      expect(read.readAt).toBeInstanceOf(Date);
      // Read again by someone else: the first reader and time stay.
      const again = await admin.notifications.markRead(alert.id);
      expect(again).toMatchObject({ readBy: reader.id, readAt: read.readAt });
      expect((await admin.notifications.listUnread()).map((x) => x.id)).not.toContain(alert.id);
      await expect(
        db.forUser(globex.admin.id).notifications.markRead(alert.id),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        db.forUser(globex.admin.id).notifications.create({
          workflowId: workflow.id,
          type: 'x',
          title: 'x',
          message: 'x',
        }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await asService(sql`delete from users where id = ${reader.id}`);
      const kept = await admin.notifications.markRead(alert.id);
      expect(kept).toMatchObject({ read: true, readBy: null });
    });

    it("links a step only to its organization's screenshots, a log only to its steps", async () => {
      const me = db.forUser(acme.member.id);
      const them = db.forUser(globex.member.id);
      const { workflow, steps } = await me.workflows.record({ name: 'Links', steps: [step(1)] });
      const mine = await me.screenshots.store(new Uint8Array([4, 2, 1]), {
        storageKey: 'links/mine.png',
      });
      const theirs = await them.screenshots.store(new Uint8Array([4, 2, 2]), {
        storageKey: 'links/theirs.png',
      });
      const their = await them.workflows.record({ name: 'Theirs', steps: [step(1)] });
      const theirStep = their.steps[0]!.id;

      // Through the repositories: a ValidationError naming the field, no id in it, nothing
      // written; another organization's row and a row that does not exist get the same answer.
      const refused = async (call: Promise<unknown>, field: string, id: string) => {
        const error = await call.then(
          () => undefined,
          (e: unknown) => e as Error & { code: string; field: string },
        );
        expect(error, field).toMatchObject({ code: 'VALIDATION_FAILED', field });
        expect(error!.message).not.toContain(id);
        return error!.message;
      };
      for (const screenshotId of [theirs.id, crypto.randomUUID()]) {
        const messages = [
          await refused(
            me.steps.insert(workflow.id, { ...step(2), screenshotId }),
            'step.screenshotId',
            screenshotId,
          ),
          await refused(
            me.workflows.record({ name: 'Borrowed', steps: [{ ...step(1), screenshotId }] }),
            'steps.screenshotId',
            screenshotId,
          ),
        ];
        expect(messages).toEqual([
          'Invalid step.screenshotId: must name a screenshot of the organization',
          'Invalid steps.screenshotId: must name a screenshot of the organization',
        ]);
      }
      for (const stepId of [theirStep, crypto.randomUUID()]) {
        expect(
          await refused(
            me.healthLogs.log(workflow.id, { status: 'failure', stepId }),
            'stepId',
            stepId,
          ),
        ).toBe('Invalid stepId: must name a step of the organization');
      }
      expect(await numbers(workflow.id, acme.member)).toEqual([['Step 1', 1]]);
      expect((await me.workflows.list()).map((w) => w.name)).not.toContain('Borrowed');
      expect(await me.healthLogs.list(workflow.id)).toEqual([]);
      expect((await me.workflows.get(workflow.id)).totalRuns).toBe(0);

      // The organization's own rows link.
      const shown = await me.steps.insert(workflow.id, { ...step(2), screenshotId: mine.id });
      expect(shown.screenshotId).toBe(mine.id);
      const { log } = await me.healthLogs.log(workflow.id, { status: 'healed', stepId: shown.id });
      expect(log.stepId).toBe(shown.id);

      // Raw SQL: as a service (row-level security off) on both dialects, and on Postgres as
      // the application role acting as a member; the database itself refuses.
      const asMember = <R extends Record<string, unknown>>(query: ReturnType<typeof sql>) =>
        p.app!.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${acme.member.id}, null, false)`);
          return tx.execute<R>(query);
        });
      const raws = dialect === 'postgres' ? [asService, asMember] : [asService];
      const first = steps[0]!.id;
      for (const raw of raws) {
        for (const attempt of [
          sql`update steps set screenshot_id = ${theirs.id} where id = ${first}`,
          sql`insert into steps (organization_id, workflow_id, step_number, action_type, screenshot_id)
              values (${acme.organizationId}, ${workflow.id}, 90, 'click', ${theirs.id})`,
          sql`update health_logs set step_id = ${theirStep} where id = ${log.id}`,
          sql`insert into health_logs (organization_id, workflow_id, step_id, status)
              values (${acme.organizationId}, ${workflow.id}, ${theirStep}, 'failure')`,
        ]) {
          await expect(raw(attempt)).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' });
        }
        await raw(sql`update steps set screenshot_id = ${mine.id} where id = ${first}`);
      }
      // A screenshot or step in use cannot move to another organization either.
      await expect(
        asService(
          sql`update screenshots set organization_id = ${globex.organizationId} where id = ${mine.id}`,
        ),
      ).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' });
      await expect(
        asService(
          sql`update steps set organization_id = ${globex.organizationId} where id = ${shown.id}`,
        ),
      ).rejects.toMatchObject({ code: 'FOREIGN_KEY_VIOLATION' });
      expect((await me.steps.get(first)).screenshotId).toBe(mine.id);

      // Deleting the screenshot (raw SQL) nulls the link alone; the steps keep their organization.
      const deleter = dialect === 'postgres' ? asMember : asService;
      await deleter(sql`delete from screenshots where id = ${mine.id}`);
      for (const id of [first, shown.id]) {
        expect(await me.steps.get(id)).toMatchObject({
          screenshotId: null,
          organizationId: acme.organizationId,
        });
      }
      await deleter(sql`delete from steps where id = ${shown.id}`);
      expect((await me.healthLogs.list(workflow.id))[0]).toMatchObject({
        id: log.id,
        stepId: null,
        organizationId: acme.organizationId,
      });
    });

    it('cascades and sets null exactly as the schema says', async () => {
      const admin = db.forUser(acme.admin.id);
      const editor = await joinAcme('editor');
      const asEditor = db.forUser(editor.id);
      const { workflow, steps } = await asEditor.workflows.record({
        name: 'Cascade',
        steps: [step(1), step(2)],
      });
      const shot = await asEditor.screenshots.store(new Uint8Array([9, 9, 9]), {
        storageKey: 'c.png',
        workflowId: workflow.id,
      });
      const withShot = await asEditor.steps.insert(workflow.id, {
        ...step(3),
        screenshotId: shot.id,
      });
      await asEditor.steps.edit(steps[0]!.id, { fieldLabel: 'Edited' });
      const { log } = await asEditor.healthLogs.log(workflow.id, {
        status: 'failure',
        stepId: steps[1]!.id,
      });
      await asEditor.notifications.create({
        workflowId: workflow.id,
        type: 'x',
        title: 'x',
        message: 'x',
      });
      // screenshot -> step: SET NULL; step -> health log: SET NULL.
      expect(await asEditor.screenshots.delete(shot.id)).toBe(true);
      expect((await asEditor.steps.get(withShot.id)).screenshotId).toBeNull();
      await asEditor.steps.delete(steps[1]!.id);
      expect(
        (await asEditor.healthLogs.list(workflow.id)).find((l) => l.id === log.id),
      ).toMatchObject({ stepId: null });
      // user -> workflow.created_by and step.edited_by: SET NULL.
      await asService(sql`delete from users where id = ${editor.id}`);
      expect((await admin.workflows.get(workflow.id)).createdBy).toBeNull();
      expect((await admin.steps.get(steps[0]!.id)).editedBy).toBeNull();
      // workflow -> steps, screenshots, health logs, notifications: CASCADE.
      const shot2 = await admin.screenshots.store(new Uint8Array([7, 7]), {
        storageKey: 'd.png',
        workflowId: workflow.id,
      });
      expect(await admin.workflows.delete(workflow.id)).toBe(true);
      expect(await admin.steps.list(workflow.id)).toEqual([]);
      expect(await admin.healthLogs.list(workflow.id)).toEqual([]);
      await expect(admin.screenshots.get(shot2.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const left = await asService<{ n: number | string }>(
        sql`select count(*) as n from notifications where workflow_id = ${workflow.id}`,
      );
      expect(Number(left[0]!.n)).toBe(0);
      // organization -> everything of it: CASCADE.
      const doomed = await company('doomed');
      const d = db.forUser(doomed.admin.id);
      const rec = await d.workflows.record({ name: 'Doomed', steps: [step(1)] });
      await d.screenshots.store(new Uint8Array([1, 2, 3]), { storageKey: 'x' });
      await d.healthLogs.log(rec.workflow.id, { status: 'success' });
      await asService(sql`delete from organizations where id = ${doomed.organizationId}`);
      for (const table of ['workflows', 'steps', 'screenshots', 'health_logs', 'notifications']) {
        const rows = await asService<{ n: number | string }>(
          sql`select count(*) as n from ${sql.identifier(table)} where organization_id = ${doomed.organizationId}`,
        );
        expect(Number(rows[0]!.n), table).toBe(0);
      }
    });

    // SQLite has no policies: there the repositories are the whole rule (tested above).
    if (dialect === 'postgres') {
      it('row-level security keeps raw SQL of one company away from another', async () => {
        const me = db.forUser(acme.member.id);
        const { workflow } = await me.workflows.record({ name: 'Secret plan', steps: [step(1)] });
        const app = p.app!;
        const seen = await app.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${globex.member.id}, null, false)`);
          const tables = ['workflows', 'steps', 'screenshots', 'health_logs', 'notifications'];
          const out: Record<string, number> = {};
          for (const table of tables) {
            const rows = await tx.execute<{ n: number | string }>(
              sql`select count(*) as n from ${sql.identifier(table)} where organization_id = ${acme.organizationId}`,
            );
            out[table] = Number(rows[0]!.n);
          }
          const updated = await tx.execute(
            sql`update workflows set name = 'taken' where id = ${workflow.id} returning id`,
          );
          out.updated = updated.length;
          return out;
        });
        expect(seen).toEqual({
          workflows: 0,
          steps: 0,
          screenshots: 0,
          health_logs: 0,
          notifications: 0,
          updated: 0,
        });
        const planted = app.transaction(async (tx) => {
          await tx.execute(sql`select exora_set_actor(${globex.member.id}, null, false)`);
          await tx.execute(
            sql`insert into workflows (organization_id, name) values (${acme.organizationId}, 'planted')`,
          );
        });
        await expect(planted).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
        expect((await me.workflows.get(workflow.id)).name).toBe('Secret plan');
      });
    }
  });
}
