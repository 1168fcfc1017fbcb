import { createReadStream } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditEvents, notificationDeliveries, runs, teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { finishOrphanedScenarioRuns } from '@/server/services/scenarios/orphaned-runs';
import { finishOrphanedTrainingRuns } from '@/server/services/runs/orphaned-runs';
import { workflowState } from '@/workflows/client';
import { ctxFor, newUser, trpcCode } from '../helpers/api';
import { creditDataCsv } from '../helpers/datasets';
import type { TestDatabase } from '../helpers/db';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { check, sql, type TestCell } from '../helpers/pipeline';
import { scenarioHarness, type ScenarioHarness, type ScenarioRunView } from '../helpers/scenarios';

const CLEAN_ROWS = 4454 - 381;
const scenario = (id: string, yaml: string): TestCell => ({ id, kind: 'scenario', source: yaml });

const cells: TestCell[] = [
  sql('clean', 'clean', 'select * from credit where income is not null'),
  check('check_clean', 'dataset: clean\nchecks:\n  - type: row_count\n    min: 1000\n  - type: null_rate\n    column: income\n    max: 0\n  - type: row_count\n    min: 1000000\n    severity: warning'),
  scenario(
    's_nightly',
    `name: nightly
triggers:
  - type: manual
steps:
  - type: build
  - type: checks
    dataset: clean
  - type: notify
    channel: ops
    when: always
`,
  ),
  scenario(
    's_after',
    `name: after-nightly
triggers:
  - type: after_scenario
    scenario: nightly
    outcome: succeeded
steps:
  - type: metrics
    dataset: clean
`,
  ),
  scenario(
    's_failing',
    `name: failing
triggers:
  - type: manual
steps:
  - type: sql
    sql: select * from no_such_table
  - type: checks
    dataset: clean
  - type: notify
    channel: ops
    when: failure
  - type: metrics
    dataset: credit
    when: always
`,
  ),
  scenario(
    's_flaky',
    `name: flaky
triggers:
  - type: manual
steps:
  - type: metrics
    dataset: credit
    retries: 2
  - type: sql
    sql: select status, count(*) as n from credit group by status order by status
`,
  ),
  scenario(
    's_long',
    `name: long
triggers:
  - type: manual
overlap: skip
steps:
  - type: sql
    sql: select pg_sleep(30) as slept
  - type: notify
    channel: ops
    when: always
`,
  ),
];

let h: ScenarioHarness;
let t: TestDatabase;
let receiver: WebhookReceiver;
let viewer: Extract<Actor, { type: 'user' }>;
let projectId: string;
let bundleHash: string;

const flakyAttempts: number[] = [];

const caller = (actor?: Actor) => h.caller(actor);
type RunView = ScenarioRunView;
const finished = (runId: string): Promise<RunView> => h.waitForRun(runId, (run) => ['succeeded', 'failed', 'cancelled', 'skipped'].includes(run.status));

beforeAll(async () => {
  h = await scenarioHarness('scenarios');
  ({ t, projectId } = h);
  receiver = await startWebhookReceiver();
  viewer = await newUser(t.db, 'viewer');
  await t.db.insert(teamMembers).values({ teamId: h.teamId, userId: viewer.userId, role: 'viewer' });
  for (const environment of ['design', 'production'] as const) {
    await uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name: 'credit', environment }, csv: createReadStream(creditDataCsv) });
  }
  await caller().notifications.create({ projectId, name: 'ops', kind: 'webhook', url: receiver.url });
  const deployed = await h.deploy(cells, 'scenarios');
  bundleHash = deployed.bundleHash;
  expect(deployed.changed).toBe(true);

  await h.startWorker({
    scenario: {
      beforeStep: async ({ runId, index, attempt }) => {
        const [run] = await t.db.select({ input: runs.input }).from(runs).where(eq(runs.id, runId));
        if ((run?.input as { scenario?: string }).scenario !== 'flaky' || index !== 0) return;
        flakyAttempts.push(attempt);
        if (attempt === 1) throw new Error('connection reset (injected)');
      },
    },
  });
}, 180_000);

afterAll(async () => {
  await receiver?.close();
  await h?.close();
}, 60_000);

describe('scenario runs on Temporal', () => {
  it('lists the deployed scenarios with their triggers; the deployment reconciled them in its transaction', async () => {
    const list = await caller(viewer).scenarios.list({ projectId });
    expect(list.map((s) => s.name)).toEqual(['after-nightly', 'failing', 'flaky', 'long', 'nightly']);
    expect(list.every((s) => s.bundleHash === bundleHash && s.lastRun === null)).toBe(true);
    expect(list.find((s) => s.name === 'after-nightly')!.triggers).toEqual([{ type: 'after_scenario', scenario: 'nightly', outcome: 'succeeded' }]);
    const [event] = await t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'deployment.activate')));
    expect((event!.details.reconciled as { scenarioSchedules: { scenarios: unknown[] } }).scenarioSchedules.scenarios).toHaveLength(5);
  });

  it('runs a scenario manually: a production build of the bundle, its checks, a notification; the design schema is untouched; then the after_scenario chain', { timeout: 120_000 }, async () => {
    const started = performance.now();
    const { runId, status } = await caller().scenarios.run({ projectId, scenario: 'nightly' });
    expect(status).toBe('queued');
    const run = await finished(runId);
    console.log(`scenario nightly (production build + checks + notify): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(run).toMatchObject({ status: 'succeeded', scenario: 'nightly', bundleHash, trigger: { kind: 'manual', detail: { by: h.deployer.email } }, error: null });
    expect(run.steps.map((s) => [s.type, s.status])).toEqual([
      ['build', 'succeeded'],
      ['checks', 'succeeded'],
      ['notify', 'succeeded'],
    ]);
    expect(run.steps.every((s) => s.durationMs !== null && s.startedAt && s.finishedAt)).toBe(true);
    expect(run.steps[1]!.output).toMatchObject({ dataset: 'clean', rowCount: CLEAN_ROWS, warnings: 1 });

    // The build ran in production, from the bundle, and records the bundle hash.
    const build = await caller().builds.get({ projectId, runId: run.steps[0]!.childRunId! });
    expect(build).toMatchObject({ status: 'succeeded', environment: 'production', notebookId: null });
    const [buildRun] = await t.db.select({ bundleHash: runs.bundleHash }).from(runs).where(eq(runs.id, build.runId));
    expect(buildRun!.bundleHash).toBe(bundleHash);
    const [prod] = await t.query(`select count(*)::int as n from "${schemaNameOf(projectId, 'production')}".clean`);
    expect(prod).toEqual({ n: CLEAN_ROWS });
    const design = await t.query(`select tablename from pg_tables where schemaname = $1 and tablename = 'clean'`, [schemaNameOf(projectId, 'design')]);
    expect(design).toEqual([]);

    // The webhook: the scenario, the run, its outcome and a link to its page.
    const hook = receiver.received.find((r) => (JSON.parse(r.body) as { runId: string }).runId === runId);
    expect(hook?.headers['x-stagebook-event']).toBe('scenario.succeeded');
    expect(JSON.parse(hook!.body)).toMatchObject({ runUrl: `/projects/${projectId}/runs/${runId}`, data: { scenario: 'nightly', outcome: 'succeeded', bundleHash } });

    // after-nightly runs because nightly succeeded.
    let chained: Awaited<ReturnType<ReturnType<typeof caller>['scenarios']['runs']>>[number] | undefined;
    await vi.waitFor(
      async () => {
        [chained] = await caller().scenarios.runs({ projectId, scenario: 'after-nightly' });
        expect(chained?.status).toBe('succeeded');
      },
      { timeout: 60_000, interval: 200 },
    );
    expect(chained!.trigger).toMatchObject({ kind: 'after_scenario', detail: { scenario: 'nightly', runId, outcome: 'succeeded' } });
    const chainedRun = await caller().scenarios.getRun({ projectId, runId: chained!.runId });
    console.log(`after_scenario trigger: nightly finished -> after-nightly started ${new Date(chainedRun.startedAt!).getTime() - new Date(run.finishedAt!).getTime()} ms`);
    const completions = await t.db.select().from(auditEvents).where(and(eq(auditEvents.targetId, runId), eq(auditEvents.action, 'scenario.run_complete')));
    expect(completions).toHaveLength(1);
    expect(completions[0]!.details).toMatchObject({ scenario: 'nightly', status: 'succeeded', bundleHash });
  });

  it('honours when: a failed step skips the success steps, runs the failure and always steps, and the run fails', { timeout: 90_000 }, async () => {
    const { runId } = await caller().scenarios.run({ projectId, scenario: 'failing' });
    const run = await finished(runId);
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => [s.type, s.status])).toEqual([
      ['sql', 'failed'],
      ['checks', 'skipped'],
      ['notify', 'succeeded'],
      ['metrics', 'succeeded'],
    ]);
    expect(run.steps[0]!.error).toMatch(/no_such_table/);
    expect(run.steps[0]!.attempt).toBe(1);
    expect(run.error).toMatch(/step 1 \(sql\) failed/);
    const [delivery] = await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.runId, runId));
    expect(delivery).toMatchObject({ event: 'scenario.failed', status: 'delivered' });
    // after-nightly follows only nightly.
    expect((await caller().scenarios.runs({ projectId, scenario: 'after-nightly' })).length).toBe(1);
  });

  it('retries a step that failed transiently, up to its retries', { timeout: 90_000 }, async () => {
    const { runId } = await caller().scenarios.run({ projectId, scenario: 'flaky' });
    const run = await finished(runId);
    expect(run.status).toBe('succeeded');
    expect(flakyAttempts).toEqual([1, 2]);
    expect(run.steps[0]).toMatchObject({ status: 'succeeded', attempt: 2, output: { dataset: 'credit', rowCount: 4454 } });
    expect(run.steps[0]!.log.join('\n')).toMatch(/attempt 1 failed: connection reset \(injected\)/);
    expect(run.steps[1]!.output).toMatchObject({ rowCount: 2, columns: ['status', 'n'] });
    // The metrics step's point is in the production dataset's history, once despite the retry.
    const history = await caller().datasets.metrics({ projectId, name: 'credit', environment: 'production' });
    expect(history.filter((p) => p.runId === runId)).toEqual([expect.objectContaining({ rowCount: 4454 })]);
  });

  it('skips a run that overlaps a running one (overlap: skip), and cancels a run: its running step stops and the rest are cancelled', { timeout: 90_000 }, async () => {
    const first = await caller().scenarios.run({ projectId, scenario: 'long' });
    await vi.waitFor(async () => expect((await caller().scenarios.getRun({ projectId, runId: first.runId })).steps[0]!.status).toBe('running'), { timeout: 30_000, interval: 100 });
    const second = await caller().scenarios.run({ projectId, scenario: 'long' });
    expect(second).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/still running \(overlap: skip\)/) });
    expect((await caller().scenarios.getRun({ projectId, runId: second.runId })).status).toBe('skipped');
    expect(await trpcCode(caller(viewer).scenarios.cancelRun({ projectId, runId: first.runId }))).toBe('FORBIDDEN');

    const asked = performance.now();
    expect(await caller().scenarios.cancelRun({ projectId, runId: first.runId })).toEqual({ runId: first.runId, status: 'running' });
    const run = await finished(first.runId);
    expect(performance.now() - asked).toBeLessThan(15_000);
    expect(run.status).toBe('cancelled');
    expect(run.steps.map((s) => s.status)).toEqual(['cancelled', 'cancelled']);
    const audit = await t.db.select().from(auditEvents).where(and(eq(auditEvents.targetId, first.runId), eq(auditEvents.action, 'scenario.run_cancel')));
    expect(audit).toHaveLength(1);

    const again = await caller().scenarios.rerun({ projectId, runId: second.runId });
    expect(again.status).toBe('queued');
    await caller().scenarios.cancelRun({ projectId, runId: again.runId });
    expect((await finished(again.runId)).status).toBe('cancelled');
  });

  it('finishes a run whose workflow was terminated outside Stagebook (it would stay running forever), once', { timeout: 90_000 }, async () => {
    const { runId } = await caller().scenarios.run({ projectId, scenario: 'long' });
    await vi.waitFor(async () => expect((await caller().scenarios.getRun({ projectId, runId })).steps[0]!.status).toBe('running'), { timeout: 30_000, interval: 100 });
    const [row] = await t.db.select({ workflowId: runs.workflowId }).from(runs).where(eq(runs.id, runId));
    const stateOf = (id: string) => workflowState(h.client, id);
    // Still running: the sweep leaves it alone.
    expect(await finishOrphanedScenarioRuns(t.db, stateOf, { olderThanMs: 0 })).not.toContain(runId);
    await h.client.workflow.getHandle(row!.workflowId).terminate('terminated by an operator in the Temporal UI');
    expect((await caller().scenarios.getRun({ projectId, runId })).status).toBe('running');

    expect(await finishOrphanedScenarioRuns(t.db, stateOf, { olderThanMs: 0 })).toContain(runId);
    const run = await caller().scenarios.getRun({ projectId, runId });
    expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/workflow ended without finishing the run \(terminated or timed out\)/) });
    expect(run.steps.map((s) => s.status)).toEqual(['failed', 'failed']);
    // A second sweep (or another process's) finds nothing to do.
    expect(await finishOrphanedScenarioRuns(t.db, stateOf, { olderThanMs: 0 })).toEqual([]);
    const completions = await t.db.select().from(auditEvents).where(and(eq(auditEvents.targetId, runId), eq(auditEvents.action, 'scenario.run_complete')));
    expect(completions).toHaveLength(1);
  });

  it('fails a training run whose workflow was terminated or never started (the train form would poll forever), once; a fresh one is left alone', { timeout: 60_000 }, async () => {
    const stateOf = (id: string) => workflowState(h.client, id);
    const trainRun = async (workflowId: string, createdAt = new Date(Date.now() - 120_000)) => {
      const input = { modelName: 'm', dataset: 'credit', environment: 'design', spec: {}, algorithm: 'logistic_regression', actor: { type: 'user', userId: h.admin.userId }, requestId: null };
      const [row] = await t.db.insert(runs).values({ projectId, kind: 'train', status: 'running', workflowId, input, createdBy: h.admin.userId, createdAt }).returning({ id: runs.id });
      return row!.id;
    };
    // A train workflow on a queue no worker polls: it stays running until terminated.
    const live = `train-orphan-live-${Date.now()}`;
    await h.client.workflow.start('trainWorkflow', { taskQueue: `nobody-polls-${Date.now()}`, workflowId: live, args: [{ runId: 'x' }] });
    const liveRun = await trainRun(live);
    const neverStarted = await trainRun(`train-orphan-missing-${Date.now()}`);
    const fresh = await trainRun(`train-orphan-fresh-${Date.now()}`, new Date());

    expect(await finishOrphanedTrainingRuns(t.db, stateOf)).toEqual([neverStarted]);
    const view = await caller().models.training({ projectId, trainingId: neverStarted });
    expect(view).toMatchObject({ state: 'failed', error: { message: "the training's workflow no longer exists in Temporal: train again" } });
    expect((await caller().models.training({ projectId, trainingId: liveRun })).state).toBe('running');
    expect((await caller().models.training({ projectId, trainingId: fresh })).state).toBe('running');

    await h.client.workflow.getHandle(live).terminate('terminated by an operator');
    expect(await finishOrphanedTrainingRuns(t.db, stateOf)).toEqual([liveRun]);
    expect(await caller().models.training({ projectId, trainingId: liveRun })).toMatchObject({ state: 'failed', error: { message: expect.stringMatching(/ended without finishing it \(terminated or timed out\)/) } });
    expect(await finishOrphanedTrainingRuns(t.db, stateOf)).toEqual([]);
  });
});
