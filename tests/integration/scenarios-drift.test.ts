import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { scoringRuntime } from '@/server/services/scoring/runtime';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker, type StagebookWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * Drift acting on production: the champion v1 (credit data, `age` and `income`) serves `risk-prod`;
 * the scenario `watch` computes the endpoint's drift and, when it fails (PSI above 0.2), retrains
 * with the notebook's train cell (`when: failure`).
 */
const watch = `name: watch
triggers:
  - type: manual
steps:
  - type: drift
    endpoint: risk-prod
    window: 1h
    threshold: 0.2
  - type: retrain
    model: credit-risk
    when: failure
    gate:
      minRows: 500
`;

let temporal: TestTemporal;
let client: Client;
let t: TestDatabase;
let worker: StagebookWorker;
let deployer: Extract<Actor, { type: 'user' }>;
let projectId: string;
const taskQueue = uniqueTaskQueue('drift');
const caller = (actor: Actor = deployer) => callerFor(t.db, actor, { workflows: createWorkflowStarter(client, taskQueue) });

async function runToEnd(scenario: string) {
  const { runId } = await caller().scenarios.run({ projectId, scenario });
  let view: Awaited<ReturnType<ReturnType<typeof caller>['scenarios']['getRun']>> | undefined;
  await vi.waitFor(
    async () => {
      view = await caller().scenarios.getRun({ projectId, runId });
      expect(['succeeded', 'failed', 'cancelled']).toContain(view.status);
    },
    { timeout: 120_000, interval: 250 },
  );
  return view!;
}

beforeAll(async () => {
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
  t = await openTestDatabase('postgres');
  const admin = await newUser(t.db, 'admin');
  deployer = await newUser(t.db, 'deployer');
  const team = await callerFor(t.db, admin).teams.create({ name: 'Risk' });
  await t.db.insert(teamMembers).values({ teamId: team.id, userId: deployer.userId, role: 'deployer' });
  projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Credit' })).id;
  for (const environment of ['design', 'production'] as const) {
    await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'credit', environment }, csv: createReadStream(creditDataCsv) });
  }
  await trainModelVersion({
    ctx: ctxFor(t.db, admin),
    input: { projectId, modelName: 'credit-risk', dataset: 'credit', environment: 'design', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression', features: ['age', 'income'] } },
  });
  const notebook = await caller().notebooks.create({ projectId, name: 'Risk' });
  await setNotebookCells(t.db, notebook.id, [
    { id: 'train', kind: 'train', source: 'model: credit-risk\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\n' },
    { id: 'ep', kind: 'endpoint', source: 'name: risk-prod\nmodel: credit-risk\n' },
    { id: 's_watch', kind: 'scenario', source: watch },
  ]);
  const { bundle } = await caller().bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: 'drift', confirmFailedBuild: true });
  await caller().deployments.deploy({ projectId, bundleHash: bundle.hash, reason: 'drift' });
  worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
  void worker.run();
}, 180_000);

afterAll(async () => {
  // The runtime's recorders write on their timers: write now, before the pool ends.
  if (t) await scoringRuntime(t.db).flushRecorders();
  await worker?.shutdown();
  await client?.connection.close();
  await disposeWithProjectRoles(t);
  await temporal?.stop();
}, 60_000);

/** Production rows as scoring records (numbers as numbers), `age` moved by `shift` years. */
async function productionRecords(n: number, shift: number): Promise<Record<string, unknown>[]> {
  const rows = await t.query(`select * from "${schemaNameOf(projectId, 'production')}".credit order by random() limit ${n}`);
  return rows.map((row) => {
    const r = Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'status').map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));
    return { ...r, age: Number(r.age) + shift };
  });
}

it('a drift step passes on traffic like the training data, and the retrain branch is skipped', { timeout: 180_000 }, async () => {
  await caller().scoring.predict({ endpoint: 'risk-prod', records: await productionRecords(800, 0) });
  const run = await runToEnd('watch');
  expect(run.status).toBe('succeeded');
  expect(run.steps.map((s) => [s.type, s.status])).toEqual([
    ['drift', 'succeeded'],
    ['retrain', 'skipped'],
  ]);
  const output = run.steps[0]!.output as { rows: number; maxPsi: number; drifted: string[] };
  expect(output.rows).toBe(800);
  expect(output.maxPsi).toBeLessThan(0.2);
  expect(output.drifted).toEqual([]);
});

it('drift above the threshold fails the drift step and runs the retrain branch, which promotes a challenger', { timeout: 180_000 }, async () => {
  await caller().scoring.predict({ endpoint: 'risk-prod', records: await productionRecords(2000, 40) });
  const run = await runToEnd('watch');
  expect(run.status).toBe('failed');
  expect(run.steps.map((s) => [s.type, s.status])).toEqual([
    ['drift', 'failed'],
    ['retrain', 'succeeded'],
  ]);
  expect(run.steps[0]!.error).toMatch(/^drift on endpoint "risk-prod": PSI \d+\.\d+ > 0\.2 \(age/);
  expect(run.steps[0]!.output).toMatchObject({ rows: 2800, threshold: 0.2, drifted: expect.arrayContaining(['age']) });
  expect(run.steps[1]!.output).toMatchObject({ decision: 'promoted', champion: { version: 1 }, challenger: { version: 2 } });
  const drift = await caller().endpoints.drift({ projectId, name: 'risk-prod' });
  expect(drift.reports.map((r) => r.maxPsi! > 0.2)).toEqual([false, true]);
});
