import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@/server/app';
import { projectLayerDir } from '@/server/python/project-layer';
import { pythonSettings } from '@/server/python/venv';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { python, setNotebookCells, type TestCell } from '../helpers/pipeline';
import { pythonCellVenv } from '../helpers/python';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * A LightGBM classifier inside a scikit-learn pipeline, registered from a Python cell: the project
 * adds pinned lightgbm and onnxmltools (real pip from PyPI, into the project's layer), stagebook.py
 * registers onnxmltools' converter with skl2onnx, and the REST endpoint's scores equal the
 * pipeline's predict_proba computed by a separate script with the same packages. Real Python,
 * bubblewrap, Postgres and Temporal.
 */
const tmp = path.resolve(import.meta.dirname, '../.tmp/python-lightgbm');
const LIGHTGBM = 'lightgbm==4.7.0';
const ONNXMLTOOLS = 'onnxmltools==1.16.0';

const PIPELINE = `from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

def credit_pipeline(df):
    num = [c for c in df.columns if c != "status" and pd.api.types.is_numeric_dtype(df[c])]
    cat = [c for c in df.columns if c != "status" and c not in num]
    return Pipeline([
        ("pre", ColumnTransformer([("num", "passthrough", num), ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])),
        ("model", LGBMClassifier(n_estimators=50, n_jobs=1, deterministic=True, force_row_wise=True, verbose=-1)),
    ])
`;

/** The same pipeline fitted on the CSV, and its predict_proba on 200 records (as python-models.test.ts). */
const EXPECTED_SCRIPT = `import json, sys
import numpy as np
import pandas as pd
${PIPELINE}
df = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
df.columns = [c.lower() for c in df.columns]
features = [c for c in df.columns if c != "status"]
df["records"] = df["records"].map({"yes": True, "no": False})
X = df[features].copy()
for c in features:
    X[c] = X[c].astype(np.float64) if pd.api.types.is_numeric_dtype(X[c]) or c == "records" else X[c].fillna("").astype(str)
pipe = credit_pipeline(df).fit(X, df["status"].astype(str))
test = X.iloc[::22][:200]
raw = df[features].iloc[::22][:200]
records = [{c: (None if pd.isna(v) else bool(v) if c == "records" else (float(v) if pd.api.types.is_numeric_dtype(raw[c]) else v)) for c, v in row.items()} for row in raw.to_dict(orient="records")]
json.dump({"classes": [str(c) for c in pipe.classes_], "records": records, "probabilities": pipe.predict_proba(test).tolist()}, open(sys.argv[2], "w"))
`;

type Expected = { classes: string[]; records: Record<string, unknown>[]; probabilities: number[][] };

let temporal: TestTemporal;
let client: Client;

beforeAll(async () => {
  pythonCellVenv();
  quietTemporalRuntime();
  temporal = await useTestTemporal();
  client = await connectTemporal(temporal.address, temporal.namespace);
}, 900_000);

afterAll(async () => {
  await client?.connection.close();
  await temporal?.stop();
}, 30_000);

describe('LightGBM in a pipeline registered from a python cell', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let caller: ReturnType<typeof callerFor>;
  let admin: Awaited<ReturnType<typeof newUser>>;
  let projectId: string;
  let worker: Awaited<ReturnType<typeof createWorker>>;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const taskQueue = uniqueTaskQueue('python-lightgbm');
    worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    admin = await newUser(t.db, 'admin');
    const workflows = createWorkflowStarter(client, taskQueue);
    caller = callerFor(t.db, admin, { workflows });
    const team = await caller.teams.create({ name: 'Py lgbm' });
    projectId = (await caller.projects.create({ teamId: team.id, name: 'Py' })).id;
    await uploadDataset({ ctx: { ...ctxFor(t.db, admin), workflows }, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await worker?.shutdown();
    await disposeWithProjectRoles(t);
  }, 60_000);

  async function build(cells: TestCell[]) {
    const nb = await caller.notebooks.create({ projectId, name: `nb ${Math.random()}` });
    await setNotebookCells(t.db, nb.id, cells);
    const { runId } = await caller.builds.start({ projectId, notebookId: nb.id, target: { kind: 'all' } });
    await client.workflow.getHandle(`build-${runId}`).result();
    return caller.builds.get({ projectId, runId });
  }

  const fit = (model: string) => python('fit', ['credit'], 'registered', `${PIPELINE}\nregistered = stagebook.register_model("${model}", credit_pipeline(credit), train=credit, target="status", positive_class="bad")`);

  it('without onnxmltools in the project the step fails naming the package to add, and registers nothing', { timeout: 900_000 }, async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: `${LIGHTGBM}\n` });
    const built = await build([fit('lgbm-no-tools')]);
    expect(built.status).toBe('failed');
    const error = built.steps.find((s) => s.stepId === 'fit')!.error ?? '';
    expect(error).toContain(`model "lgbm-no-tools": converting LGBMClassifier to ONNX needs onnxmltools: add ${ONNXMLTOOLS} to the project's Python packages`);
    await expect(caller.models.versionDetail({ projectId, name: 'lgbm-no-tools', version: 1 })).rejects.toThrow(/not found|NOT_FOUND/i);
  });

  it('with lightgbm and onnxmltools pinned, serves the pipeline over REST equal to predict_proba to 1e-5', { timeout: 900_000 }, async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: `${LIGHTGBM}\n${ONNXMLTOOLS}\n` });
    const started = Date.now();
    const built = await build([fit('credit-lgbm')]);
    console.log(`lightgbm build with the layer's install: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const step = built.steps.find((s) => s.stepId === 'fit')!;
    expect(built.status, JSON.stringify(built.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
    expect(step.result).toMatchObject({ kind: 'train', model: 'credit-lgbm', version: 1 });
    expect(step.log.join('\n')).toMatch(/model "credit-lgbm": converted with skl2onnx \((float|double) inputs\), onnxruntime equals predict_proba on 1,000 rows/);
    const detail = await caller.models.versionDetail({ projectId, name: 'credit-lgbm', version: 1 });
    expect(detail.metrics!.evaluation.auc.auc).toBeGreaterThan(0.75);

    // The expectation: the same packages (the project's layer on the path), a separate process, the CSV.
    const view = await caller.projects.pythonRequirements({ projectId });
    const layer = projectLayerDir(pythonSettings(), projectId, view.sha256!);
    mkdirSync(tmp, { recursive: true });
    writeFileSync(path.join(tmp, 'expected.py'), EXPECTED_SCRIPT);
    const r = spawnSync(pythonCellVenv(), [path.join(tmp, 'expected.py'), creditDataCsv, path.join(tmp, 'expected.json')], {
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, PYTHONPATH: layer },
    });
    expect(r.status, r.stderr).toBe(0);
    const expected = JSON.parse(readFileSync(path.join(tmp, 'expected.json'), 'utf8')) as Expected;
    await caller.endpoints.create({ projectId, name: 'credit-lgbm', model: 'credit-lgbm' });
    const key = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: ['score:credit-lgbm'] } })).secret;
    const scored = await app.inject({ method: 'POST', url: '/api/v1/endpoints/credit-lgbm/predict', headers: { authorization: `Bearer ${key}` }, payload: { records: expected.records } });
    expect(scored.statusCode, scored.body).toBe(200);
    const predictions = (scored.json() as { predictions: { probabilities: Record<string, number> }[] }).predictions;
    expect(predictions).toHaveLength(200);
    let maxDiff = 0;
    predictions.forEach((p, i) => expected.classes.forEach((c, j) => (maxDiff = Math.max(maxDiff, Math.abs(p.probabilities[c]! - expected.probabilities[i]![j]!)))));
    console.log(`lightgbm: REST against predict_proba, max difference ${maxDiff.toExponential(2)} on 200 records`);
    expect(maxDiff).toBeLessThan(1e-5);
  });
});
