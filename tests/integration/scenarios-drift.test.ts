import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Actor } from '@/server/services/context';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { trainModelVersion } from '@/server/services/models/train-model-version';
import { ctxFor } from '../helpers/api';
import { creditDataCsv } from '../helpers/datasets';
import type { TestDatabase } from '../helpers/db';
import { scenarioHarness, type ScenarioHarness } from '../helpers/scenarios';

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

let h: ScenarioHarness;
let t: TestDatabase;
let projectId: string;
const caller = (actor?: Actor) => h.caller(actor);
const runToEnd = async (scenario: string) => (await h.runToEnd(scenario)).run;

beforeAll(async () => {
  h = await scenarioHarness('drift');
  ({ t, projectId } = h);
  for (const environment of ['design', 'production'] as const) {
    await uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name: 'credit', environment }, csv: createReadStream(creditDataCsv) });
  }
  // refit: false (champion and train cell): design and production hold the same rows, so a refit
  // champion would have seen every row a challenger could be judged on (the gate would have none).
  await trainModelVersion({
    ctx: ctxFor(t.db, h.admin),
    input: { projectId, modelName: 'credit-risk', dataset: 'credit', environment: 'design', spec: { target: 'status', positiveClass: 'bad', algorithm: 'logistic_regression', features: ['age', 'income'], refit: false } },
  });
  await h.deploy(
    [
      { id: 'train', kind: 'train', source: 'model: credit-risk\ndataset: credit\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression\nrefit: false\n' },
      { id: 'ep', kind: 'endpoint', source: 'name: risk-prod\nmodel: credit-risk\n' },
      { id: 's_watch', kind: 'scenario', source: watch },
    ],
    'drift',
  );
  await h.startWorker();
}, 180_000);

afterAll(() => h?.close(), 60_000);

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
