import { createReadStream } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { auditEvents, endpoints, models, modelVersions, teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker, type StagebookWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * The gated retrain on the credit data (4,454 rows; target Status -> `status`, positive class `bad`).
 * The champion v1 learnt from `age` alone; the notebook's train cell uses every column, so a
 * challenger trained by the scenario on production data is clearly better on the same holdout.
 */
const trainCell = `model: credit-risk
dataset: credit
target: status
positiveClass: bad
algorithm: logistic_regression
`;
const retrain = (name: string, gate: string) => ({
  id: `s_${name}`,
  kind: 'scenario' as const,
  source: `name: ${name}
triggers:
  - type: manual
steps:
  - type: retrain
    model: credit-risk
    gate:
${gate}
`,
});

let temporal: TestTemporal;
let client: Client;
let t: TestDatabase;
let worker: StagebookWorker;
let deployer: Extract<Actor, { type: 'user' }>;
let projectId: string;
const taskQueue = uniqueTaskQueue('retrain');
const caller = (actor: Actor = deployer) => callerFor(t.db, actor, { workflows: createWorkflowStarter(client, taskQueue) });

async function runToEnd(scenario: string) {
  const started = performance.now();
  const { runId } = await caller().scenarios.run({ projectId, scenario });
  let view: Awaited<ReturnType<ReturnType<typeof caller>['scenarios']['getRun']>> | undefined;
  await vi.waitFor(
    async () => {
      view = await caller().scenarios.getRun({ projectId, runId });
      expect(['succeeded', 'failed', 'cancelled']).toContain(view.status);
    },
    { timeout: 120_000, interval: 250 },
  );
  return { run: view!, seconds: (performance.now() - started) / 1000 };
}

const gateDecisions = () => t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'model.gate_decision')));

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
    input: { projectId, modelName: 'credit-risk', dataset: 'credit', environment: 'design', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression', features: ['age'] } },
  });
  const notebook = await caller().notebooks.create({ projectId, name: 'Risk' });
  await setNotebookCells(t.db, notebook.id, [
    { id: 'train', kind: 'train', source: trainCell },
    { id: 'ep', kind: 'endpoint', source: 'name: risk-prod\nmodel: credit-risk\n' },
    retrain('retrain-pass', '      metric: auc\n      minRows: 500'),
    retrain('retrain-strict', '      metric: auc\n      minImprovement: 0.5'),
  ]);
  const { bundle } = await caller().bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: 'retrain', confirmFailedBuild: true });
  await caller().deployments.deploy({ projectId, bundleHash: bundle.hash, reason: 'retrain' });
  worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
  void worker.run();
}, 180_000);

afterAll(async () => {
  await worker?.shutdown();
  await client?.connection.close();
  await disposeWithProjectRoles(t);
  await temporal?.stop();
}, 60_000);

async function predictOne(): Promise<{ modelVersion: number }> {
  const [row] = await t.query(`select * from "${schemaNameOf(projectId, 'production')}".credit limit 1`);
  // bigint and numeric columns arrive as strings from node-postgres: features are numbers.
  const record = Object.fromEntries(Object.entries(row!).filter(([k]) => k !== 'status').map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));
  return caller().scoring.predict({ endpoint: 'risk-prod', records: [record] });
}

it('a challenger that passes the gate becomes champion and the production endpoint serves it at once; audited with both metrics and the data fingerprint', { timeout: 180_000 }, async () => {
  expect((await predictOne()).modelVersion).toBe(1);
  const { run, seconds } = await runToEnd('retrain-pass');
  console.log(`retrain scenario on the credit data (4,454 rows, logistic regression, gate on auc): ${seconds.toFixed(1)} s`);
  expect(run.status).toBe('succeeded');
  const output = run.steps[0]!.output as { decision: string; champion: { version: number; value: number }; challenger: { version: number; value: number }; endpoints: string[]; holdoutRows: number };
  expect(output).toMatchObject({ decision: 'promoted', metric: 'auc', comparator: '>=', champion: { version: 1 }, challenger: { version: 2 }, endpoints: ['risk-prod'] });
  expect(output.challenger.value).toBeGreaterThan(output.champion.value + 0.1);
  expect(output.holdoutRows).toBeGreaterThan(500);

  const [model] = await t.db.select().from(models).where(eq(models.projectId, projectId));
  const [champion] = await t.db.select().from(modelVersions).where(eq(modelVersions.id, model!.championVersionId!));
  expect(champion).toMatchObject({ version: 2, trainingData: { environment: 'production', dataset: 'credit' } });
  const [endpoint] = await t.db.select().from(endpoints).where(eq(endpoints.name, 'risk-prod'));
  expect(endpoint!.pinnedVersionId).toBe(champion!.id);
  expect((await predictOne()).modelVersion).toBe(2);

  const [decision] = await gateDecisions();
  expect(decision!.details).toMatchObject({
    decision: 'promoted',
    champion: { version: 1, value: output.champion.value },
    challenger: { version: 2, value: output.challenger.value },
    data: { dataset: 'credit', environment: 'production', fingerprint: expect.any(String), rows: expect.any(Number) },
  });
});

it('a challenger that does not pass (minImprovement too high) keeps the champion and the endpoint; the decision is audited', { timeout: 180_000 }, async () => {
  const versionsBefore = await t.db.select().from(modelVersions);
  const { run, seconds } = await runToEnd('retrain-strict');
  console.log(`rejected retrain scenario: ${seconds.toFixed(1)} s`);
  expect(run.status).toBe('succeeded');
  expect(run.steps[0]!.output).toMatchObject({ decision: 'kept_champion', champion: { version: 2 }, challenger: { version: null }, minImprovement: 0.5, endpoints: [] });
  expect(await t.db.select().from(modelVersions)).toHaveLength(versionsBefore.length);
  expect((await predictOne()).modelVersion).toBe(2);
  const decisions = await gateDecisions();
  expect(decisions).toHaveLength(2);
  expect(decisions[1]!.details).toMatchObject({ decision: 'kept_champion', champion: { version: 2 }, data: { fingerprint: expect.any(String) } });
});

it('a challenger identical to the champion (same data, same spec) keeps the champion instead of registering a copy', { timeout: 180_000 }, async () => {
  const versionsBefore = await t.db.select().from(modelVersions);
  // retrain-pass again on unchanged production data: the same model, byte for byte, as v2.
  const { run } = await runToEnd('retrain-pass');
  expect(run.status).toBe('succeeded');
  expect(run.steps[0]!.output).toMatchObject({ decision: 'kept_champion', champion: { version: 2 }, challenger: { version: null }, reason: expect.stringMatching(/same ONNX artifact/) });
  expect(await t.db.select().from(modelVersions)).toHaveLength(versionsBefore.length);
  expect((await predictOne()).modelVersion).toBe(2);
});
