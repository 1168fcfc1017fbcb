import { createReadStream } from 'node:fs';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditEvents, endpoints, models, modelVersions } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { ctxFor } from '../helpers/api';
import { creditDataCsv } from '../helpers/datasets';
import type { TestDatabase } from '../helpers/db';
import { scenarioHarness, type ScenarioHarness } from '../helpers/scenarios';

/**
 * The gated retrain on the credit data (4,454 rows; target Status -> `status`, positive class `bad`).
 * The champion v1 learnt from `age` alone; the notebook's train cell uses every column, so a
 * challenger trained by the scenario on production data is clearly better on the same holdout.
 */
// refit: false (here and for the champion): design and production hold the same rows, so a refit
// champion would have seen every row a challenger could be judged on (the gate would have none).
const trainCell = `model: credit-risk
dataset: credit
target: status
positiveClass: bad
algorithm: logistic_regression
refit: false
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

let h: ScenarioHarness;
let t: TestDatabase;
let projectId: string;
const caller = (actor?: Actor) => h.caller(actor);
const runToEnd = (scenario: string) => h.runToEnd(scenario);

const gateDecisions = () => t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'model.gate_decision'))).orderBy(auditEvents.seq);

beforeAll(async () => {
  h = await scenarioHarness('retrain');
  ({ t, projectId } = h);
  for (const environment of ['design', 'production'] as const) {
    await uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name: 'credit', environment }, csv: createReadStream(creditDataCsv) });
  }
  await trainModelVersion({
    ctx: ctxFor(t.db, h.admin),
    input: { projectId, modelName: 'credit-risk', dataset: 'credit', environment: 'design', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression', features: ['age'], refit: false } },
  });
  await h.deploy(
    [
      { id: 'train', kind: 'train', source: trainCell },
      { id: 'ep', kind: 'endpoint', source: 'name: risk-prod\nmodel: credit-risk\n' },
      retrain('retrain-pass', '      metric: auc\n      minRows: 500'),
      retrain('retrain-strict', '      metric: auc\n      minImprovement: 0.5'),
    ],
    'retrain',
  );
  await h.startWorker();
}, 180_000);

afterAll(() => h?.close(), 60_000);

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
