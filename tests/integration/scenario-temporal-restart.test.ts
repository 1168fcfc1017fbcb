/**
 * A scenario run survives its Temporal server dying mid-run (GitHub issue 7): the dev server keeps its
 * state in a SQLite file, is SIGKILLed while the run's build writes a dataset, and comes back on the
 * same file and port. The worker process and the client are not restarted: both reconnect by
 * themselves to the same address, as a deployed worker would.
 */
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { and, eq, sql as dsql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { auditEvents, buildSteps, notificationDeliveries, runs, scenarioRunSteps, teamMembers } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { findTemporalCli, startTemporalDevServer, type DevServer } from '@/workflows/dev-server';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { setNotebookCells, sql, ts } from '../helpers/pipeline';
import { killWorkers, quietTemporalRuntime, spawnWorker, uniqueTaskQueue, type WorkerChild } from '../helpers/temporal';

const CLEAN_ROWS = 4454 - 381;
const OUTAGE_MS = 2_000;
const taskQueue = uniqueTaskQueue('scenario-restart');
const dir = mkdtempSync(path.join(tmpdir(), 'sb-scenario-restart-'));
const dbFile = path.join(dir, 'temporal.db');

let server: DevServer | undefined;
let client: Client | undefined;
let t: TestDatabase;
let receiver: WebhookReceiver;
const workers: WorkerChild[] = [];

const startTemporal = (port?: number) => startTemporalDevServer({ cliPath: findTemporalCli(), dbFile, ui: false, startTimeoutMs: 60_000, ...(port ? { port } : {}) });

beforeAll(async () => {
  quietTemporalRuntime();
  server = await startTemporal();
  client = await connectTemporal(server.address, server.namespace);
  t = await openTestDatabase('postgres');
  receiver = await startWebhookReceiver();
}, 90_000);

afterAll(async () => {
  await killWorkers(workers);
  await client?.connection.close();
  await receiver?.close();
  await disposeWithProjectRoles(t);
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

it('finishes a scenario run exactly once when its Temporal server is SIGKILLed mid-build and restarted on its state file', { timeout: 240_000 }, async () => {
  const admin = await newUser(t.db, 'admin');
  const deployer = await newUser(t.db, 'deployer');
  const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
  await t.db.insert(teamMembers).values({ teamId: team.id, userId: deployer.userId, role: 'deployer' });
  const caller = callerFor(t.db, deployer, { workflows: createWorkflowStarter(client!, taskQueue) });
  const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Outage' })).id;
  await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'credit', environment: 'production' }, csv: createReadStream(creditDataCsv) });
  await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
  await caller.notifications.create({ projectId, name: 'ops', kind: 'webhook', url: receiver.url });
  const notebook = await caller.notebooks.create({ projectId, name: 'Outage' });
  await setNotebookCells(t.db, notebook.id, [
    sql('clean', 'clean', 'select row_number() over (order by seniority, age, amount, price, income, expenses, assets, debt, time) as id, * from credit where income is not null'),
    // About 1 ms a row (4 s in all): Temporal dies while this step has written part of its rows.
    ts(
      'scored',
      ['clean'],
      'scored',
      'export default function (rows, emit) {\n  for (const r of rows) { const until = Date.now() + 1; while (Date.now() < until) {} emit({ id: r.id, ratio: r.amount / r.income }); }\n}',
    ),
    { id: 'check_scored', kind: 'check', source: 'dataset: scored\nchecks:\n  - type: unique\n    columns: [id]\n' },
    {
      id: 's',
      kind: 'scenario',
      source:
        'name: outage\ntriggers:\n  - type: manual\nsteps:\n  - type: build\n  - type: sql\n    name: count scored\n    sql: select count(*)::int as n, count(distinct id)::int as ids from scored\n  - type: notify\n    channel: ops\n',
    },
  ]);
  const { bundle } = await caller.bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: 'outage', confirmFailedBuild: true });
  await caller.deployments.deploy({ projectId, bundleHash: bundle.hash, reason: 'outage' });

  const worker = spawnWorker({ databaseUrl: t.url!, temporal: { address: server!.address, namespace: server!.namespace, stop: async () => {} }, taskQueue });
  workers.push(worker);
  const startedAt = performance.now();
  const { runId } = await caller.scenarios.run({ projectId, scenario: 'outage' });

  let buildRunId = '';
  await vi.waitFor(
    async () => {
      const view = await caller.scenarios.getRun({ projectId, runId });
      buildRunId = view.steps[0]?.childRunId ?? '';
      expect(buildRunId, worker.output.join('')).toBeTruthy();
      const [step] = await t.db
        .select()
        .from(buildSteps)
        .where(and(eq(buildSteps.runId, buildRunId), eq(buildSteps.stepId, 'scored')));
      expect(step?.status).toBe('running');
      const { raw } = await client!.workflow.getHandle(`build-${buildRunId}`).describe();
      // clean -> scored is a chain: one buildStepChain activity runs both.
      const pending = raw.pendingActivities?.find((a) => ['buildStep', 'buildStepChain'].includes(a.activityType?.name ?? '') && a.heartbeatDetails?.payloads?.length);
      expect(pending?.heartbeatDetails?.payloads?.map((p) => Buffer.from(p.data ?? []).toString()).join('') ?? '').toMatch(/ts: [1-9]\d* rows in/);
    },
    { timeout: 60_000, interval: 100 },
  );

  const port = Number(server!.address.split(':').pop());
  process.kill(server!.pid, 'SIGKILL');
  await server!.stop();
  const killedAt = performance.now();
  const killedAtClock = Date.now();
  await sleep(OUTAGE_MS);
  // Down until the slow step has finished its work: its completion has nowhere to go but the worker.
  await vi.waitFor(
    async () => {
      const [step] = await t.db
        .select()
        .from(buildSteps)
        .where(and(eq(buildSteps.runId, buildRunId), eq(buildSteps.stepId, 'scored')));
      expect(step?.status).toBe('succeeded');
    },
    { timeout: 30_000, interval: 100 },
  );
  server = await startTemporal(port);
  const backAt = performance.now();
  const backAtClock = Date.now();
  console.log(`temporal dev server SIGKILLed mid-build, back on port ${port} after ${((backAt - killedAt) / 1000).toFixed(1)} s`);

  await vi.waitFor(async () => expect((await caller.scenarios.getRun({ projectId, runId })).status, worker.output.join('')).toBe('succeeded'), {
    timeout: 150_000,
    interval: 250,
  });
  const finishedAt = performance.now();
  console.log(`scenario run finished ${((finishedAt - startedAt) / 1000).toFixed(1)} s after it started, outage included; ` + `${((finishedAt - backAt) / 1000).toFixed(1)} s after Temporal was back`);
  // Neither the worker process nor the test's client was restarted.
  expect(worker.process.exitCode).toBeNull();
  expect(worker.process.signalCode).toBeNull();
  // The run row is finished by the workflow's last activity; the workflow closes right after.
  await vi.waitFor(async () => expect((await client!.workflow.getHandle(`scenario-${runId}`).describe()).status.name).toBe('COMPLETED'), { timeout: 30_000, interval: 100 });

  const run = await caller.scenarios.getRun({ projectId, runId });
  expect(run.bundleHash).toBe(bundle.hash);
  expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  const stepRows = await t.db.select().from(scenarioRunSteps).where(eq(scenarioRunSteps.runId, runId));
  expect(stepRows).toHaveLength(3);
  console.log(`step attempts: ${stepRows.map((s) => `${s.type}=${s.attempt}`).join(', ')}`);
  const counted = run.steps[1]?.output as { rows?: unknown[] } | null;
  expect(counted?.rows).toEqual([{ n: CLEAN_ROWS, ids: CLEAN_ROWS }]);
  const [scored] = await t.query(`select count(*)::int as n, count(distinct id)::int as ids from "${schemaNameOf(projectId, 'production')}".scored`);
  expect(scored).toEqual({ n: CLEAN_ROWS, ids: CLEAN_ROWS });

  // Once: one build, one start and one completion audited, one delivery, one webhook received.
  const builds = await t.db
    .select()
    .from(runs)
    .where(and(eq(runs.kind, 'build'), dsql`${runs.input}->>'scenarioRunId' = ${runId}`));
  expect(builds).toHaveLength(1);
  const [build] = builds;
  expect(build?.status).toBe('succeeded');
  const buildStepRows = await t.db.select().from(buildSteps).where(eq(buildSteps.runId, build!.id));
  // Where the build's slow step ended relative to the outage tells which path was taken: finished while
  // Temporal was down with attempt 1 means the worker held its completion and reported it afterwards.
  const sinceKill = (at: Date | null) => (at ? `${((at.getTime() - killedAtClock) / 1000).toFixed(1)} s` : 'never');
  console.log(
    `build steps (seconds from the kill): ${buildStepRows.map((s) => `${s.stepId} attempt ${s.attempt} finished at ${sinceKill(s.finishedAt)}`).join(', ')}; ` +
      `Temporal back at ${((backAtClock - killedAtClock) / 1000).toFixed(1)} s`,
  );
  const audited = (action: 'scenario.run_start' | 'scenario.run_complete') =>
    t.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, runId), eq(auditEvents.action, action)));
  expect(await audited('scenario.run_start')).toHaveLength(1);
  expect(await audited('scenario.run_complete')).toHaveLength(1);
  expect(await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.runId, runId))).toHaveLength(1);
  expect(receiver.received).toHaveLength(1);
  expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ event: 'scenario.succeeded' });
  const published = await t.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, 'dataset.publish'), eq(auditEvents.projectId, projectId)));
  expect(published.map((e) => e.details.name).sort()).toEqual(['clean', 'scored']);
});
