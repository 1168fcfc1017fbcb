import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditEvents, endpoints, models, modelVersions } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { ctxFor } from '../helpers/api';
import { creditDataCsv } from '../helpers/datasets';
import type { TestDatabase } from '../helpers/db';
import { python, setNotebookCells } from '../helpers/pipeline';
import { pythonCellVenv } from '../helpers/python';
import { runFinished, scenarioHarness, type ScenarioHarness } from '../helpers/scenarios';

/**
 * A scenario's retrain step re-running a Python cell (stagebook.register_model) on production data,
 * behind the same gate as a train cell's model: real Python and bubblewrap, Postgres, Temporal,
 * onnxruntime. The cell's pipeline is chosen by the data: the `tuning` dataset's latest row says
 * "full" (every column) or "weak" (the same pipeline reading only `age`), so a better and a worse
 * challenger come from the same deployed cell. Design holds credit rows 1-1,500 (v1, weak);
 * production rows 1,001-2,500 at deploy, then rows are appended before each retrain.
 */
const CELL = `from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

kind = str(tuning.sort_values("at")["model"].iloc[-1])
num = [c for c in credit.columns if c != "status" and pd.api.types.is_numeric_dtype(credit[c])]
cat = [c for c in credit.columns if c != "status" and c not in num]
if kind == "weak":
    num, cat = ["age"], []
parts = [("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), num)]
if cat:
    parts.append(("cat", OneHotEncoder(handle_unknown="ignore"), cat))
pipe = Pipeline([("pre", ColumnTransformer(parts, remainder="drop")), ("model", LogisticRegression(max_iter=1000))])
registered = stagebook.register_model("credit-py", pipe, train=credit, target="status", positive_class="bad")
`;

const retrain = (name: string) => ({
  id: `s_${name}`,
  kind: 'scenario' as const,
  source: `name: ${name}\ntriggers:\n  - type: manual\nsteps:\n  - type: retrain\n    model: credit-py\n    gate:\n      metric: auc\n      minRows: 100\n`,
});

const lines = readFileSync(creditDataCsv, 'utf8').trimEnd().split('\n');
/** The header and data rows `from`..`to` (1-based, inclusive) of the credit file. */
const creditRows = (from: number, to: number) => Readable.from([[lines[0]!, ...lines.slice(from, to + 1)].join('\n') + '\n']);

let h: ScenarioHarness;
let t: TestDatabase;
let projectId: string;

const upload = (name: string, environment: 'design' | 'production', csv: Readable) => uploadDataset({ ctx: ctxFor(t.db, h.admin), input: { projectId, name, environment }, csv });
const gateDecisions = () => t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'model.gate_decision'))).orderBy(auditEvents.seq);
const versions = async () => t.db.select().from(modelVersions).orderBy(modelVersions.version);

async function predictOne(): Promise<{ modelVersion: number }> {
  const [row] = await t.query(`select * from "${schemaNameOf(projectId, 'production')}".credit limit 1`);
  const record = Object.fromEntries(Object.entries(row!).filter(([k]) => k !== 'status').map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));
  return h.caller().scoring.predict({ endpoint: 'py-prod', records: [record] });
}

beforeAll(async () => {
  pythonCellVenv();
  h = await scenarioHarness('python-retrain');
  ({ t, projectId } = h);
  await upload('credit', 'design', creditRows(1, 1500));
  await upload('tuning', 'design', Readable.from(['at,model\n1,weak\n']));
  await upload('credit', 'production', creditRows(1001, 2500));
  await upload('tuning', 'production', Readable.from(['at,model\n1,full\n']));
  await h.startWorker();
  const cells = [
    python('fit', ['credit', 'tuning'], 'registered', CELL),
    { id: 'ep', kind: 'endpoint' as const, source: 'name: py-prod\nmodel: credit-py\n' },
    retrain('retrain-py'),
    { id: 's_shadow_short', kind: 'scenario' as const, source: `${retrain('shadow_short').source}    shadow:\n      for: 10s\n      minRecords: 100000\n` },
    { id: 's_shadow_pass', kind: 'scenario' as const, source: `${retrain('shadow_pass').source}    shadow:\n      for: 15s\n      minRecords: 5\n` },
  ];
  // The design build registers v1 (weak), the version the bundle carries and production serves.
  const notebook = await h.caller().notebooks.create({ projectId, name: 'py retrain' });
  await setNotebookCells(t.db, notebook.id, cells);
  const { runId } = await h.caller().builds.start({ projectId, notebookId: notebook.id, target: { kind: 'all' } });
  await h.client.workflow.getHandle(`build-${runId}`).result();
  const built = await h.caller().builds.get({ projectId, runId });
  expect(built.status, JSON.stringify(built.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
  const { bundle } = await h.caller().bundles.promote({ projectId, notebookId: notebook.id, releaseNotes: 'py', confirmFailedBuild: true });
  await h.caller().deployments.deploy({ projectId, bundleHash: bundle.hash, reason: 'py' });
}, 900_000);

afterAll(() => h?.close(), 60_000);

it('a Python version has permutation importance from onnxruntime scores on its holdout, its training rows and a drift reference', async () => {
  const [v1] = await versions();
  const evaluation = (v1!.metrics as { evaluation: { permutationImportance: { rows: number; repeats: number; features: { feature: string; meanDrop: number }[] }; featureImportance: { feature: string; importance: number }[] } }).evaluation;
  // v1 reads only `age`: shuffling any other column cannot change a single score.
  const drops = Object.fromEntries(evaluation.permutationImportance.features.map((f) => [f.feature, f.meanDrop]));
  expect(Object.keys(drops).sort()).toEqual(['age', 'amount', 'assets', 'debt', 'expenses', 'home', 'income', 'job', 'marital', 'price', 'records', 'seniority', 'time']);
  expect(drops.age).toBeGreaterThan(0.01);
  for (const [feature, drop] of Object.entries(drops)) if (feature !== 'age') expect(drop, feature).toBe(0);
  expect(evaluation.featureImportance[0]).toEqual({ feature: 'age', importance: 1 });
  expect(evaluation.permutationImportance.rows).toBe((v1!.metrics as { evaluation: { rows: number } }).evaluation.rows);
  expect(v1!.trainingData).toMatchObject({ dataset: 'credit', environment: 'design', rows: 1500, seenRows: { count: expect.any(Number), of: 'model-frame' }, python: { cell: 'fit', inputs: ['credit', 'tuning'] } });
  expect(v1!.reference).toMatchObject({ rows: 1500, prediction: expect.anything() });
});

it('a better challenger from the same cell on appended production rows is promoted and served; both judged on holdout rows the champion did not train on', { timeout: 600_000 }, async () => {
  expect((await predictOne()).modelVersion).toBe(1);
  await upload('credit', 'production', creditRows(1001, 3500));
  const { run, seconds } = await h.runToEnd('retrain-py');
  console.log(`python retrain (promoted): ${seconds.toFixed(1)} s: ${JSON.stringify((run.steps[0]!.output as { reason?: string }).reason)}`);
  expect(run.status, JSON.stringify(run.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
  const output = run.steps[0]!.output as { decision: string; champion: { value: number }; challenger: { value: number }; holdoutRows: number; evaluatedRows: number; championSeenRows: number };
  expect(output).toMatchObject({ decision: 'promoted', language: 'python', metric: 'auc', champion: { version: 1 }, challenger: { version: 2 }, endpoints: ['py-prod'] });
  expect(output.challenger.value).toBeGreaterThan(output.champion.value + 0.1);
  // Rows 1,001-1,500 are in v1's training rows and in production: about a fifth of them land in the holdout.
  expect(output.evaluatedRows + output.championSeenRows).toBe(output.holdoutRows);
  expect(output.championSeenRows).toBeGreaterThan(60);
  expect(output.championSeenRows).toBeLessThan(160);
  // The cell's stratified 20 % holdout of the 2,500 production rows.
  const [counts] = (await t.query(`select count(*) filter (where status = 'bad')::int as bad, count(*) filter (where status = 'good')::int as good from "${schemaNameOf(projectId, 'production')}".credit`)) as { bad: number; good: number }[];
  expect(output.holdoutRows).toBe(Math.round(counts!.bad * 0.2) + Math.round(counts!.good * 0.2));

  const [model] = await t.db.select().from(models).where(eq(models.projectId, projectId));
  const [champion] = await t.db.select().from(modelVersions).where(eq(modelVersions.id, model!.championVersionId!));
  expect(champion).toMatchObject({ version: 2, trainingData: { environment: 'production', rows: 2500, seenRows: { of: 'model-frame' } } });
  expect((await predictOne()).modelVersion).toBe(2);
  const [decision] = await gateDecisions();
  expect(decision!.details).toMatchObject({ decision: 'promoted', language: 'python', champion: { version: 1 }, challenger: { version: 2 }, data: { environment: 'production', fingerprint: expect.any(String), rows: 2500 } });
});

it('a worse challenger (the data asks for the weak pipeline) is refused by the gate with the reason recorded; nothing registered, the endpoint keeps serving the champion', { timeout: 600_000 }, async () => {
  const before = await versions();
  await upload('credit', 'production', creditRows(1001, 4454));
  await upload('tuning', 'production', Readable.from(['at,model\n1,full\n2,weak\n']));
  const { run, seconds } = await h.runToEnd('retrain-py');
  console.log(`python retrain (refused): ${seconds.toFixed(1)} s: ${JSON.stringify((run.steps[0]!.output as { reason?: string }).reason)}`);
  expect(run.status, JSON.stringify(run.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
  const output = run.steps[0]!.output as { decision: string; reason: string; champion: { value: number }; challenger: { value: number }; evaluatedRows: number; championSeenRows: number; holdoutRows: number };
  expect(output).toMatchObject({ decision: 'kept_champion', champion: { version: 2 }, challenger: { version: null }, endpoints: [] });
  expect(output.challenger.value).toBeLessThan(output.champion.value);
  expect(output.reason).toMatch(/^challenger auc 0\.\d{4} does not meet >= champion 0\.\d{4} on \d+ holdout rows the champion did not train on, both scored by onnxruntime on the same records$/);
  // v2 trained on rows 1,001-3,500: only the holdout rows appended after it are judged.
  expect(output.championSeenRows).toBeGreaterThan(output.evaluatedRows);
  expect(output.evaluatedRows).toBeGreaterThanOrEqual(100);
  expect(await versions()).toHaveLength(before.length);
  expect((await predictOne()).modelVersion).toBe(2);
  const decisions = await gateDecisions();
  expect(decisions).toHaveLength(2);
  expect(decisions[1]!.details).toMatchObject({ decision: 'kept_champion', reason: output.reason });
});

/** Runs `scenario` until its retrain step shadows a challenger, scoring `during` requests on py-prod meanwhile; then to its end. */
async function shadowRun(scenario: string, during: number) {
  const { runId } = await h.caller().scenarios.run({ projectId, scenario });
  const shadowing = await h.waitForRun(runId, (r) => (r.steps[0]?.output as { decision?: string } | null)?.decision === 'shadowing' || runFinished(r));
  const [endpoint] = await t.db.select().from(endpoints).where(eq(endpoints.name, 'py-prod'));
  const shadowVersion = endpoint?.shadowVersionId ? (await t.db.select().from(modelVersions).where(eq(modelVersions.id, endpoint.shadowVersionId)))[0]!.version : null;
  const served: number[] = [];
  for (let i = 0; i < during; i++) served.push((await predictOne()).modelVersion);
  const run = await h.waitForRun(runId, runFinished);
  const [after] = await t.db.select().from(endpoints).where(eq(endpoints.name, 'py-prod'));
  return { shadowing, shadowVersion, served, run, endpointAfter: after! };
}

const championVersion = async () => {
  const [model] = await t.db.select().from(models).where(eq(models.projectId, projectId));
  return (await t.db.select().from(modelVersions).where(eq(modelVersions.id, model!.championVersionId!)))[0]!.version;
};

it('with shadow, a passing Python challenger first shadow-scores the production endpoint; too few scored records keep the champion and end the shadow', { timeout: 300_000 }, async () => {
  // An operator makes the weak v1 champion again (production keeps serving v2, the deployed
  // endpoint's version); the data asks for the full pipeline: a challenger that passes the gate.
  await h.caller().models.setChampion({ projectId, name: 'credit-py', version: 1 });
  await upload('tuning', 'production', Readable.from(['at,model\n1,full\n2,weak\n3,full\n']));
  const shadowStarts = async () => (await t.db.select().from(auditEvents).where(and(eq(auditEvents.projectId, projectId), eq(auditEvents.action, 'model.shadow_start')))).length;
  expect(await shadowStarts()).toBe(0);
  const { shadowing, shadowVersion, served, run, endpointAfter } = await shadowRun('shadow_short', 3);
  expect(shadowing.status, JSON.stringify(shadowing.steps.map((s) => [s.error, s.log]), null, 1)).toBe('running');
  expect(shadowing.steps[0]!.output).toMatchObject({ decision: 'shadowing', language: 'python', cell: 'fit', champion: { version: 1 }, challenger: { version: 3 }, endpoints: ['py-prod'] });
  expect(shadowVersion).toBe(3);
  // While it shadows, the served version answers.
  expect(served).toEqual([2, 2, 2]);
  expect(run.status).toBe('succeeded');
  expect(run.steps[0]!.output).toMatchObject({
    decision: 'kept_champion',
    language: 'python',
    challenger: { version: 3 },
    shadow: { version: 3, pairs: 3, endpoints: [{ name: 'py-prod' }] },
    reason: expect.stringMatching(/both scored by onnxruntime on the same records; shadow: 3 shadow-scored records.*fewer than minRecords 100000/),
  });
  expect(endpointAfter.shadowVersionId).toBeNull();
  expect(await championVersion()).toBe(1);
  expect((await predictOne()).modelVersion).toBe(2);
  expect(await shadowStarts()).toBe(1);
  expect((await gateDecisions()).at(-1)!.details).toMatchObject({ decision: 'kept_champion', language: 'python', shadow: { pairs: 3 } });
});

it('with shadow, a Python challenger whose shadow period holds becomes champion and serves, audited with the shadow comparison', { timeout: 300_000 }, async () => {
  const { shadowing, shadowVersion, served, run, endpointAfter } = await shadowRun('shadow_pass', 8);
  expect(shadowing.steps[0]!.output).toMatchObject({ decision: 'shadowing', language: 'python', champion: { version: 1 }, challenger: { version: 4 } });
  expect(shadowVersion).toBe(4);
  expect(served.every((v) => v === 2)).toBe(true);
  expect(run.status, JSON.stringify(run.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
  const output = run.steps[0]!.output as { decision: string; shadow: { pairs: number; agreement: number } };
  expect(output).toMatchObject({ decision: 'promoted', language: 'python', champion: { version: 1 }, challenger: { version: 4 }, endpoints: ['py-prod'], shadow: { version: 4, pairs: 8 } });
  expect(output.shadow.agreement).toBeGreaterThanOrEqual(0);
  expect(endpointAfter.shadowVersionId).toBeNull();
  expect(await championVersion()).toBe(4);
  expect((await predictOne()).modelVersion).toBe(4);
  expect((await gateDecisions()).at(-1)!.details).toMatchObject({ decision: 'promoted', language: 'python', challenger: { version: 4 }, shadow: { pairs: 8 } });
});
