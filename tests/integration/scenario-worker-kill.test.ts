import { createReadStream } from 'node:fs';
import { and, eq, sql as dsql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { auditEvents, buildSteps, notificationDeliveries, runs, teamMembers } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { setNotebookCells, sql, ts } from '../helpers/pipeline';
import { killWorkers, quietTemporalRuntime, spawnWorker, uniqueTaskQueue, useTestTemporal, type TestTemporal, type WorkerChild } from '../helpers/temporal';

const CLEAN_ROWS = 4454 - 381;
const taskQueue = uniqueTaskQueue('scenario-kill');

let temporal: TestTemporal;
let client: Client;
let t: TestDatabase;
let receiver: WebhookReceiver;
const children: WorkerChild[] = [];

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
  t = await openTestDatabase('postgres');
  receiver = await startWebhookReceiver();
}, 60_000);

afterAll(async () => {
  await killWorkers(children);
  await client?.connection.close();
  await receiver?.close();
  await disposeWithProjectRoles(t);
  await temporal?.stop();
}, 60_000);

it('finishes a scenario run exactly once after its worker is SIGKILLed in the middle of its build step', { timeout: 180_000 }, async () => {
  const admin = await newUser(t.db, 'admin');
  const deployer = await newUser(t.db, 'deployer');
  const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
  await t.db.insert(teamMembers).values({ teamId: team.id, userId: deployer.userId, role: 'deployer' });
  const caller = callerFor(t.db, deployer, { workflows: createWorkflowStarter(client, taskQueue) });
  const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Durable' })).id;
  await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'credit', environment: 'production' }, csv: createReadStream(creditDataCsv) });
  await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
  await caller.notifications.create({ projectId, name: 'ops', kind: 'webhook', url: receiver.url });
  const notebook = await caller.notebooks.create({ projectId, name: 'Durable' });
  await setNotebookCells(t.db, notebook.id, [
    sql('clean', 'clean', 'select row_number() over (order by seniority, age, amount, price, income, expenses, assets, debt, time) as id, * from credit where income is not null'),
    // About 1 ms a row: the worker is killed while this step has written part of its rows.
    ts(
      'scored',
      ['clean'],
      'scored',
      'export default function (rows, emit) {\n  for (const r of rows) { const until = Date.now() + 1; while (Date.now() < until) {} emit({ id: r.id, ratio: r.amount / r.income }); }\n}',
    ),
    { id: 'check_scored', kind: 'check', source: 'dataset: scored\nchecks:\n  - type: unique\n    columns: [id]\n' },
    { id: 's', kind: 'scenario', source: 'name: durable\ntriggers:\n  - type: manual\nsteps:\n  - type: build\n  - type: checks\n    dataset: scored\n  - type: notify\n    channel: ops\n' },
  ]);
  const { bundle } = await caller.bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: 'durable', confirmFailedBuild: true });
  await caller.deployments.deploy({ projectId, bundleHash: bundle.hash, reason: 'durable' });

  const first = spawnWorker({ databaseUrl: t.url!, temporal, taskQueue });
  children.push(first);
  const { runId } = await caller.scenarios.run({ projectId, scenario: 'durable' });

  // The build's ts step is running on the first worker and has written rows.
  await vi.waitFor(
    async () => {
      const view = await caller.scenarios.getRun({ projectId, runId });
      const buildRunId = view.steps[0]?.childRunId;
      expect(buildRunId, first.output.join('')).toBeTruthy();
      const [step] = await t.db
        .select()
        .from(buildSteps)
        .where(and(eq(buildSteps.runId, buildRunId!), eq(buildSteps.stepId, 'scored')));
      expect(step?.status).toBe('running');
      const { raw } = await client.workflow.getHandle(`build-${buildRunId}`).describe();
      // clean -> scored is a chain: one buildStepChain activity runs both.
      const pending = raw.pendingActivities?.find((a) => ['buildStep', 'buildStepChain'].includes(a.activityType?.name ?? '') && a.heartbeatDetails?.payloads?.length);
      expect(pending?.heartbeatDetails?.payloads?.map((p) => Buffer.from(p.data ?? []).toString()).join('') ?? '').toMatch(/ts: [1-9]\d* rows in/);
    },
    { timeout: 60_000, interval: 100 },
  );
  first.process.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  expect((await caller.scenarios.getRun({ projectId, runId })).status).toBe('running');

  const second = spawnWorker({ databaseUrl: t.url!, temporal, taskQueue });
  children.push(second);
  const started = performance.now();
  await vi.waitFor(async () => expect((await caller.scenarios.getRun({ projectId, runId })).status).toBe('succeeded'), { timeout: 120_000, interval: 250 });
  console.log(`scenario run resumed on a new worker and finished ${((performance.now() - started) / 1000).toFixed(1)} s after it started`);

  const run = await caller.scenarios.getRun({ projectId, runId });
  expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(run.bundleHash).toBe(bundle.hash);
  const [scored] = await t.query(`select count(*)::int as n, count(distinct id)::int as ids from "${schemaNameOf(projectId, 'production')}".scored`);
  expect(scored).toEqual({ n: CLEAN_ROWS, ids: CLEAN_ROWS });
  // Once: one build, one completion, one notification.
  const builds = await t.db
    .select()
    .from(runs)
    .where(and(eq(runs.kind, 'build'), dsql`${runs.input}->>'scenarioRunId' = ${runId}`));
  expect(builds).toHaveLength(1);
  expect(
    await t.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, runId), eq(auditEvents.action, 'scenario.run_complete'))),
  ).toHaveLength(1);
  expect(await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.runId, runId))).toHaveLength(1);
  const published = await t.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.action, 'dataset.publish'), eq(auditEvents.projectId, projectId)));
  expect(published.map((e) => e.details.name).sort()).toEqual(['clean', 'scored']);
});
