/**
 * Scenario triggers on the real Temporal dev server and Postgres: the trigger sync makes Temporal
 * Schedules and dataset watchers match the deployed scenarios; a `* * * * *` schedule and a
 * watcher start runs of the real scenario run workflow (in a worker process of its own, as
 * deployed); the watcher survives a SIGKILLed worker; deploy and rollback reconcile them.
 */
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseScenarioCell } from '@/server/pipeline/scenario-cell';
import type { Actor } from '@/server/services/context';
import { withSandboxSession } from '@/server/services/datasets/sql-sandbox';
import type { DeployedScenario } from '@/server/services/scenarios/triggers/declared-triggers';
import { syncScenarioTriggers } from '@/server/services/scenarios/triggers/sync-triggers';
import type { WorkflowStarter } from '@/server/services/workflow-starter';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { scenarioScheduleId, scenarioWatcherId, scenarioWorkflowNames } from '@/workflows/shared/scenario';
import { scenarioWatchStateQuery } from '@/workflows/shared/scenario-watch';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { setNotebookCells } from '../helpers/pipeline';
import { killWorkers, spawnWorker, uniqueTaskQueue, useTestTemporal, type TestTemporal, type WorkerChild } from '../helpers/temporal';

const scenario = (yaml: string): DeployedScenario => {
  const parsed = parseScenarioCell(yaml);
  if (!parsed.spec) throw new Error(parsed.problems.map((p) => p.message).join('; '));
  return { name: parsed.spec.name, bundleHash: 'a'.repeat(64), spec: parsed.spec };
};

const notFound = async (p: Promise<unknown>) => p.then(() => false, (err: unknown) => err instanceof ScheduleNotFoundError);

describe('scenario trigger sync (Temporal Schedules and watchers)', () => {
  let temporal: TestTemporal;
  let client: Client;
  // No worker polls it: the schedules here fire at 06:00 at the earliest, the watchers never run.
  const taskQueue = uniqueTaskQueue('triggers-idle');
  const projectId = randomUUID();

  beforeAll(async () => {
    temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
  }, 120_000);
  afterAll(async () => {
    await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [] }).catch(() => undefined);
    await client?.connection.close();
    await temporal?.stop();
  }, 60_000);

  const nightly = (cron: string, extra = '') =>
    scenario(`name: nightly\ntriggers:\n  - type: schedule\n    cron: "${cron}"\n    timezone: Europe/Paris\n${extra}  - type: manual\noverlap: queue_one\nsteps:\n  - type: sql\n    sql: select 1\n`);
  const weekly = '  - type: schedule\n    cron: "30 1 * * 1"\n';
  const watched = (every: string) => scenario(`name: on-sales\ntriggers:\n  - type: dataset_change\n    dataset: sales\n    column: sold_at\n    every: ${every}\nsteps:\n  - type: sql\n    sql: select 1\n`);

  it('creates, updates and deletes Schedules and watchers to match the declared scenarios', async () => {
    const created = await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [nightly('0 6 * * *', weekly), watched('1m')] });
    expect(created.changes.map((c) => [c.kind, c.id, c.change])).toEqual([
      ['schedule', scenarioScheduleId(projectId, 'nightly', 0), 'create'],
      ['schedule', scenarioScheduleId(projectId, 'nightly', 1), 'create'],
      ['watcher', scenarioWatcherId(projectId, 'on-sales', 0), 'create'],
    ]);
    const first = await client.schedule.getHandle(scenarioScheduleId(projectId, 'nightly', 0)).describe();
    // Temporal compiles cron strings into calendars; the trigger's cron travels in the run input.
    expect(first.spec.timezone).toBe('Europe/Paris');
    expect(first.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 6, end: 6, step: 1 }], minute: [{ start: 0, end: 0, step: 1 }] })]);
    expect(first.policies.overlap).toBe('BUFFER_ONE');
    expect(first.action).toMatchObject({ workflowType: scenarioWorkflowNames.run, taskQueue });
    expect(first.action.args).toEqual([{ projectId, scenario: 'nightly', trigger: { kind: 'schedule', detail: { cron: '0 6 * * *', timezone: 'Europe/Paris', triggerIndex: 0 } } }]);
    expect(first.state.note).toContain('declared by bundle aaaaaaaaaaaa');
    const next = first.info.nextActionTimes[0]!;
    expect(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }).format(next)).toBe('06:00');
    const second = await client.schedule.getHandle(scenarioScheduleId(projectId, 'nightly', 1)).describe();
    expect(second.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 1, end: 1, step: 1 }], minute: [{ start: 30, end: 30, step: 1 }], dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }] })]);
    expect(second.spec.timezone).toBe('UTC');
    const watcher = await client.workflow.getHandle(scenarioWatcherId(projectId, 'on-sales', 0)).describe();
    expect(watcher.status.name).toBe('RUNNING');
    expect(watcher.type).toBe(scenarioWorkflowNames.watch);

    // The cron moves, the weekly trigger goes, the watcher checks more often, overlap becomes skip.
    const skip = nightly('0 7 * * *');
    (skip.spec as { overlap: string }).overlap = 'skip';
    const changed = await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [skip, watched('30s')] });
    expect(changed.changes.map((c) => [c.id, c.change])).toEqual([
      [scenarioScheduleId(projectId, 'nightly', 0), 'update'],
      [scenarioWatcherId(projectId, 'on-sales', 0), 'update'],
      [scenarioScheduleId(projectId, 'nightly', 1), 'delete'],
    ]);
    const updated = await client.schedule.getHandle(scenarioScheduleId(projectId, 'nightly', 0)).describe();
    expect(updated.spec.calendars).toEqual([expect.objectContaining({ hour: [{ start: 7, end: 7, step: 1 }] })]);
    expect(updated.policies.overlap).toBe('SKIP');
    expect(await notFound(client.schedule.getHandle(scenarioScheduleId(projectId, 'nightly', 1)).describe())).toBe(true);
    const replaced = await client.workflow.getHandle(scenarioWatcherId(projectId, 'on-sales', 0)).describe();
    expect(replaced.runId).not.toBe(watcher.runId);
    expect(replaced.status.name).toBe('RUNNING');

    // Idempotent: the same scenarios again change nothing (no update, no new watcher run).
    const again = await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [skip, watched('30s')] });
    expect(again.changes.map((c) => c.change)).toEqual(['unchanged', 'unchanged']);
    const still = await client.schedule.getHandle(scenarioScheduleId(projectId, 'nightly', 0)).describe();
    expect(still.info.lastUpdatedAt).toEqual(updated.info.lastUpdatedAt);
    expect((await client.workflow.getHandle(scenarioWatcherId(projectId, 'on-sales', 0)).describe()).runId).toBe(replaced.runId);

    // Nothing declared: everything of the project goes, the watcher terminated (no worker needed).
    const none = await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [], previous: [skip, watched('30s')] });
    expect(none.changes.map((c) => [c.kind, c.change])).toEqual([
      ['schedule', 'delete'],
      ['watcher', 'delete'],
    ]);
    expect(await notFound(client.schedule.getHandle(scenarioScheduleId(projectId, 'nightly', 0)).describe())).toBe(true);
    expect((await client.workflow.getHandle(scenarioWatcherId(projectId, 'on-sales', 0)).describe()).status.name).toBe('TERMINATED');
    expect((await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [] })).changes).toEqual([]);
  });
});

describe('scenario triggers start runs, and deployments reconcile them', () => {
  let temporal: TestTemporal;
  let client: Client;
  let t: TestDatabase;
  let admin: Extract<Actor, { type: 'user' }>;
  let projectId: string;
  let notebookId: string;
  let workflows: WorkflowStarter;
  let bundleA: string;
  let bundleB: string;
  const workers: WorkerChild[] = [];
  const taskQueue = uniqueTaskQueue('triggers');
  const latencies: string[] = [];

  const minutely = { id: 'minutely', kind: 'scenario' as const, source: 'name: minutely\ntriggers:\n  - type: schedule\n    cron: "* * * * *"\nsteps:\n  - type: sql\n    sql: select 1\n' };
  const onSales = { id: 'on-sales', kind: 'scenario' as const, source: 'name: on-sales\ntriggers:\n  - type: dataset_change\n    dataset: sales\n    column: sold_at\n    every: 5s\n  - type: manual\noverlap: queue_one\nsteps:\n  - type: sql\n    sql: select 1\n' };
  const button = { id: 'button', kind: 'scenario' as const, source: 'name: button\ntriggers:\n  - type: manual\nsteps:\n  - type: sql\n    sql: select 1\n' };
  const scheduleId = () => scenarioScheduleId(projectId, 'minutely', 0);
  const watcherId = () => scenarioWatcherId(projectId, 'on-sales', 0);

  const startWorker = async () => {
    const w = spawnWorker({ databaseUrl: t.url!, temporal, taskQueue });
    workers.push(w);
    await vi.waitFor(() => expect(w.output.join('')).toContain('polling task queue'), { timeout: 90_000, interval: 200 });
    return w;
  };
  const sales = (sql: string) => withSandboxSession(t.db, { projectId, environment: 'production' }, { timeoutMs: 10_000 }, (q) => q(sql));
  const datasetRuns = async () =>
    t.query(`select id, workflow_id, created_at, input from runs where project_id = '${projectId}' and kind = 'scenario' and input->'trigger'->>'kind' = 'dataset_change' order by created_at`);
  const watchState = () => client.workflow.getHandle(watcherId()).query(scenarioWatchStateQuery);
  const deploy = (bundleHash: string, starter = workflows) => callerFor(t.db, admin, { workflows: starter }).deployments.deploy({ projectId, bundleHash, reason: 'test' });

  beforeAll(async () => {
    temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
    workflows = createWorkflowStarter(client, taskQueue);
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Triggers' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Sales' })).id;
    notebookId = (await callerFor(t.db, admin).notebooks.create({ projectId, name: 'N' })).id;
    const promote = async (notes: string) => (await callerFor(t.db, admin).bundles.promote({ projectId, notebookId, releaseNotes: notes, confirmFailedBuild: true })).bundle.hash;
    await setNotebookCells(t.db, notebookId, [minutely, onSales]);
    bundleA = await promote('A: minutely schedule and a sales watcher');
    await setNotebookCells(t.db, notebookId, [button]);
    bundleB = await promote('B: a manual scenario only');
    await sales('CREATE TABLE sales (id int, sold_at timestamptz)');
    await sales(`INSERT INTO sales VALUES (1, now()), (2, now())`);
    await startWorker();
  }, 180_000);
  afterAll(async () => {
    if (projectId) await syncScenarioTriggers({ client, taskQueue, projectId, scenarios: [] }).catch(() => undefined);
    await killWorkers(workers);
    await client?.connection.close();
    await disposeWithProjectRoles(t);
    await temporal?.stop();
    if (latencies.length) console.log(`trigger-to-start latency:\n  ${latencies.join('\n  ')}`);
  }, 60_000);

  it('deploying a bundle creates its Schedule and watcher, and says so in the deploy answer', async () => {
    const deployed = await deploy(bundleA);
    expect(deployed.afterCommit).toEqual([expect.objectContaining({ name: 'scenarioSchedules', status: 'ok' })]);
    expect((deployed.afterCommit[0]!.details as { changes: unknown[] }).changes).toEqual([
      { kind: 'schedule', id: scheduleId(), scenario: 'minutely', change: 'create' },
      { kind: 'watcher', id: watcherId(), scenario: 'on-sales', change: 'create' },
    ]);
    const d = await client.schedule.getHandle(scheduleId()).describe();
    expect(d.state.note).toContain(bundleA.slice(0, 12));
  });

  it('a watcher takes a baseline and starts nothing while the dataset does not change', async () => {
    await vi.waitFor(async () => expect((await watchState()).checks).toBeGreaterThanOrEqual(3), { timeout: 40_000, interval: 500 });
    expect(await watchState()).toMatchObject({ lastFingerprint: expect.stringMatching(/^count=2 max=/), runsStarted: 0, lastProblem: null });
    expect(await datasetRuns()).toEqual([]);
  }, 60_000);

  it('a watcher starts a run of the scenario when a row is inserted in the production dataset', async () => {
    const insertedAt = Date.now();
    await sales(`INSERT INTO sales VALUES (3, now())`);
    await vi.waitFor(async () => expect(await datasetRuns()).toHaveLength(1), { timeout: 30_000, interval: 100 });
    const [run] = await datasetRuns();
    expect(run!.input).toMatchObject({ trigger: { kind: 'dataset_change', detail: { dataset: 'sales', from: expect.stringMatching(/^count=2 /), to: expect.stringMatching(/^count=3 /) } } });
    // The run row is written (queued) just before its workflow starts: wait for the start.
    const started = await vi.waitFor(() => client.workflow.getHandle(String(run!.workflow_id)).describe(), { timeout: 10_000, interval: 100 });
    expect(started.type).toBe(scenarioWorkflowNames.run);
    latencies.push(`dataset_change (every 5s): row insert -> run workflow start ${started.startTime.getTime() - insertedAt} ms`);
    // The watcher counts the run once its activity returns, which can be just after the workflow started.
    await vi.waitFor(async () => expect((await watchState()).runsStarted).toBe(1), { timeout: 10_000, interval: 100 });
  }, 60_000);

  it('the cron schedule fires and starts the scenario run workflow', async () => {
    const handle = client.schedule.getHandle(scheduleId());
    await vi.waitFor(async () => expect((await handle.describe()).info.recentActions.length).toBeGreaterThanOrEqual(1), { timeout: 75_000, interval: 500 });
    const action = (await handle.describe()).info.recentActions[0]!;
    const started = await client.workflow.getHandle(action.action.workflow.workflowId).describe();
    expect(started.type).toBe(scenarioWorkflowNames.run);
    const nominal = Math.floor(action.scheduledAt.getTime() / 60_000) * 60_000;
    latencies.push(
      `schedule (* * * * *): cron time -> run workflow start ${started.startTime.getTime() - nominal} ms (Temporal's scheduled time, with its jitter: +${action.scheduledAt.getTime() - nominal} ms; start ${started.startTime.getTime() - action.scheduledAt.getTime()} ms after it)`,
    );
    // The run engine records it as a run of the scenario.
    await vi.waitFor(async () => {
      const rows = await t.query(`select input from runs where workflow_id = '${action.action.workflow.workflowId}'`);
      expect(rows[0]?.input).toMatchObject({ trigger: { kind: 'schedule' } });
    }, { timeout: 30_000, interval: 250 });
  }, 100_000);

  it('a watcher continues as new with its last fingerprint and memo', async () => {
    // A watcher of its own (scenario "probe" is not deployed: a change it sees starts nothing).
    const id = `scenario-watch-${projectId}-probe-0`;
    const first = await client.workflow.start(scenarioWorkflowNames.watch, {
      workflowId: id,
      taskQueue,
      args: [{ projectId, dataset: 'sales', column: 'sold_at', scenario: 'probe', triggerIndex: 0, everyMs: 200, checksPerRun: 3 }],
      memo: { stagebookWatch: { scenario: 'probe', definition: 'test' } },
    });
    await vi.waitFor(async () => expect((await client.workflow.getHandle(id).describe()).runId).not.toBe(first.firstExecutionRunId), { timeout: 30_000, interval: 200 });
    expect((await client.workflow.getHandle(id, first.firstExecutionRunId).describe()).status.name).toBe('CONTINUED_AS_NEW');
    const next = await client.workflow.getHandle(id).describe();
    expect(next.memo).toMatchObject({ stagebookWatch: { scenario: 'probe', definition: 'test' }, stagebookFingerprint: { value: expect.stringMatching(/^count=3 /) } });
    const state = await client.workflow.getHandle(id).query(scenarioWatchStateQuery);
    expect(state.lastFingerprint).toMatch(/^count=3 /);
    await client.workflow.getHandle(id).terminate('test done');
  }, 60_000);

  it('the watcher survives a killed worker: a change made while no worker runs starts one run', async () => {
    const [victim] = workers.splice(0);
    await killWorkers([victim!]);
    await sales(`INSERT INTO sales VALUES (4, now())`);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await datasetRuns()).toHaveLength(1);
    await startWorker();
    await vi.waitFor(async () => expect(await datasetRuns()).toHaveLength(2), { timeout: 60_000, interval: 250 });
    const runs = await datasetRuns();
    expect(runs[1]!.input).toMatchObject({ trigger: { detail: { from: expect.stringMatching(/^count=3 /), to: expect.stringMatching(/^count=4 /) } } });
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await datasetRuns()).toHaveLength(2);
  }, 120_000);

  it('deploying a bundle without them removes the Schedule and the watcher; rolling back recreates them', async () => {
    const toB = await deploy(bundleB);
    expect((toB.afterCommit[0]!.details as { changes: { id: string; change: string }[] }).changes.map((c) => [c.id, c.change])).toEqual([
      [scheduleId(), 'delete'],
      [watcherId(), 'delete'],
    ]);
    expect(await notFound(client.schedule.getHandle(scheduleId()).describe())).toBe(true);
    expect((await client.workflow.getHandle(watcherId()).describe()).status.name).toBe('TERMINATED');

    const back = await callerFor(t.db, admin, { workflows }).deployments.rollback({ projectId, reason: 'bring the schedule back' });
    expect(back.deployment.bundleHash).toBe(bundleA);
    expect((back.afterCommit[0]!.details as { changes: { id: string; change: string }[] }).changes.map((c) => [c.id, c.change])).toEqual([
      [scheduleId(), 'create'],
      [watcherId(), 'create'],
    ]);
    expect((await client.schedule.getHandle(scheduleId()).describe()).action.workflowType).toBe(scenarioWorkflowNames.run);
    expect((await client.workflow.getHandle(watcherId()).describe()).status.name).toBe('RUNNING');
  });

  it('when the sync fails after commit, the deploy answer says so and deploying the active bundle again repairs it', async () => {
    const broken: WorkflowStarter = { ...workflows, syncScenarioTriggers: () => Promise.reject(new Error('Temporal is unreachable')) };
    const failed = await deploy(bundleB, broken);
    expect(failed.deployment).toMatchObject({ bundleHash: bundleB, active: true });
    expect(failed.afterCommit).toEqual([
      { name: 'scenarioSchedules', status: 'failed', message: 'Temporal is unreachable; the bundle is active: deploy it again to retry' },
    ]);
    // Stale: bundle B is active, A's schedule is still there.
    expect((await client.schedule.getHandle(scheduleId()).describe()).scheduleId).toBe(scheduleId());

    const repaired = await deploy(bundleB);
    expect(repaired.changed).toBe(false);
    expect(repaired.afterCommit[0]!.status).toBe('ok');
    expect(await notFound(client.schedule.getHandle(scheduleId()).describe())).toBe(true);
    expect((await client.workflow.getHandle(watcherId()).describe()).status.name).toBe('TERMINATED');
  });
});
