import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@/server/app';
import { projectLayerDir } from '@/server/python/project-layer';
import { pythonSettings } from '@/server/python/venv';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from './api';
import { creditDataCsv, disposeWithProjectRoles } from './datasets';
import { openTestDatabase, type TestDatabase } from './db';
import { setNotebookCells, type TestCell } from './pipeline';
import { pythonCellVenv } from './python';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from './temporal';

/**
 * What the tests of models registered from Python cells share: one Temporal dev server and worker,
 * a Postgres database, a project holding the credit CSV as dataset `credit`, the REST app, and the
 * independent expectation: the cell's pipeline fitted by a separate Python process on the CSV file,
 * its predict_proba on 200 records. Each such file costs minutes, so a file covers many cases.
 */
export type PythonModelHarness = {
  t: TestDatabase;
  app: FastifyInstance;
  client: Client;
  caller: ReturnType<typeof callerFor>;
  admin: Awaited<ReturnType<typeof newUser>>;
  projectId: string;
  /** Builds a new notebook holding `cells` to the end; the build as the API shows it. */
  build(cells: TestCell[]): Promise<Awaited<ReturnType<ReturnType<typeof callerFor>['builds']['get']>>>;
  /** `credit_pipeline(df)` of `pipelineSource` fitted on the CSV: its classes and predict_proba on 200 records. */
  expected(pipelineSource: string, opts?: ExpectedOptions): Promise<Expected>;
  /** An endpoint on `model`'s champion, scored over REST with an API key of the project. */
  scoreOverRest(model: string, records: Record<string, unknown>[]): Promise<RestPrediction[]>;
};

export type ExpectedOptions = {
  /** `indexes`: fitted on LabelEncoder's 0..k-1 (what XGBoost takes), the classes being LabelEncoder's. */
  labels?: 'as-written' | 'indexes';
  /** The project's Python packages (its layer) on the path, for pipelines that import them. */
  withProjectPackages?: boolean;
};
export type Expected = {
  classes: string[];
  records: Record<string, unknown>[];
  probabilities: number[][];
};
export type RestPrediction = {
  label: string;
  probabilities: Record<string, number>;
};

/**
 * The CSV read as the upload reads it ("records" holds yes/no: the upload makes it a boolean column,
 * which the model takes as 1/0), fitted, and predict_proba on every 22nd row as endpoint records.
 */
const expectedScript = (pipelineSource: string) => `import json, sys
import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder
${pipelineSource}
df = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
df.columns = [c.lower() for c in df.columns]
features = [c for c in df.columns if c != "status"]
df["records"] = df["records"].map({"yes": True, "no": False})
X = df[features].copy()
for c in features:
    X[c] = X[c].astype(np.float64) if pd.api.types.is_numeric_dtype(X[c]) or c == "records" else X[c].fillna("").astype(str)
y = df["status"].astype(str)
if sys.argv[3] == "indexes":
    encoder = LabelEncoder().fit(y)
    pipe = credit_pipeline(df).fit(X, encoder.transform(y))
    classes = encoder.classes_
else:
    pipe = credit_pipeline(df).fit(X, y)
    classes = pipe.classes_
test = X.iloc[::22][:200]
raw = df[features].iloc[::22][:200]
records = [{c: (None if pd.isna(v) else bool(v) if c == "records" else (float(v) if pd.api.types.is_numeric_dtype(raw[c]) else v)) for c, v in row.items()} for row in raw.to_dict(orient="records")]
json.dump({"classes": [str(c) for c in classes], "records": records, "probabilities": pipe.predict_proba(test).tolist()}, open(sys.argv[2], "w"))
`;

/** Registers the hooks of the calling test file and returns the harness they fill in. */
export function usePythonModelHarness(name: string): PythonModelHarness {
  const tmp = path.resolve(import.meta.dirname, '../.tmp', name);
  let temporal: TestTemporal | undefined;
  let worker: Awaited<ReturnType<typeof createWorker>> | undefined;
  const h = {} as PythonModelHarness;

  beforeAll(async () => {
    pythonCellVenv();
    quietTemporalRuntime();
    temporal = await useTestTemporal();
    h.client = await connectTemporal(temporal.address, temporal.namespace);
    h.t = await openTestDatabase('postgres');
    const taskQueue = uniqueTaskQueue(name);
    worker = await createWorker({ db: h.t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    h.admin = await newUser(h.t.db, 'admin');
    const workflows = createWorkflowStarter(h.client, taskQueue);
    h.caller = callerFor(h.t.db, h.admin, { workflows });
    const team = await h.caller.teams.create({ name: `Team ${name}` });
    h.projectId = (await h.caller.projects.create({ teamId: team.id, name: 'Py' })).id;
    await uploadDataset({ ctx: { ...ctxFor(h.t.db, h.admin), workflows }, input: { projectId: h.projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
    h.app = await buildApp({ db: h.t.db, driver: h.t.driver, role: 'all' });
  }, 900_000);

  afterAll(async () => {
    await h.app?.close();
    await worker?.shutdown();
    if (h.t) await disposeWithProjectRoles(h.t);
    await h.client?.connection.close();
    await temporal?.stop();
  }, 60_000);

  h.build = async (cells) => {
    const nb = await h.caller.notebooks.create({ projectId: h.projectId, name: `nb ${Math.random()}` });
    await setNotebookCells(h.t.db, nb.id, cells);
    const { runId } = await h.caller.builds.start({ projectId: h.projectId, notebookId: nb.id, target: { kind: 'all' } });
    await h.client.workflow.getHandle(`build-${runId}`).result();
    return h.caller.builds.get({ projectId: h.projectId, runId });
  };

  h.expected = async (pipelineSource, opts = {}) => {
    let pythonPath: string | undefined;
    if (opts.withProjectPackages) {
      const { sha256 } = await h.caller.projects.pythonRequirements({ projectId: h.projectId });
      if (!sha256) throw new Error('the project has no Python packages');
      pythonPath = projectLayerDir(pythonSettings(), h.projectId, sha256);
    }
    mkdirSync(tmp, { recursive: true });
    const script = path.join(tmp, `expected-${Math.random().toString(36).slice(2)}.py`);
    const out = `${script}.json`;
    writeFileSync(script, expectedScript(pipelineSource));
    const r = spawnSync(pythonCellVenv(), [script, creditDataCsv, out, opts.labels ?? 'as-written'], {
      encoding: 'utf8',
      timeout: 300_000,
      env: {
        ...process.env,
        ...(pythonPath ? { PYTHONPATH: pythonPath } : {}),
      },
    });
    if (r.status !== 0) throw new Error(`the expectation script failed:\n${r.stderr}`);
    return JSON.parse(readFileSync(out, 'utf8')) as Expected;
  };

  h.scoreOverRest = async (model, records) => {
    await h.caller.endpoints.create({ projectId: h.projectId, name: model, model });
    const key = (await createApiKey({ ctx: ctxFor(h.t.db, h.admin), input: { projectId: h.projectId, name: `k ${model}`, scopes: [`score:${model}`] } })).secret;
    const scored = await h.app.inject({ method: 'POST', url: `/api/v1/endpoints/${model}/predict`, headers: { authorization: `Bearer ${key}` }, payload: { records } });
    if (scored.statusCode !== 200) throw new Error(`POST /api/v1/endpoints/${model}/predict answered ${scored.statusCode}: ${scored.body}`);
    return (scored.json() as { predictions: RestPrediction[] }).predictions;
  };

  return h;
}

/** The largest |REST probability - expected probability| over every record and class. */
export function maxProbabilityDiff(predictions: RestPrediction[], expected: Expected): number {
  let max = 0;
  predictions.forEach((p, i) => expected.classes.forEach((c, j) => (max = Math.max(max, Math.abs(p.probabilities[c]! - expected.probabilities[i]![j]!)))));
  return max;
}
