import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { and, eq } from 'drizzle-orm';
import { auditEvents } from '@/db/schema';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { schemaNameOf } from '@/server/services/datasets/storage';
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
 * Models trained in a Python cell (stagebook.register_model), end to end: real Python and bubblewrap,
 * Postgres, Temporal, onnxruntime and the REST endpoint. The expectation is scikit-learn's own
 * predict_proba, computed by a separate script in the same venv from the CSV file.
 */
const tmp = path.resolve(import.meta.dirname, '../.tmp/python-models');

const PIPELINE = `from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

def credit_pipeline(df):
    num = [c for c in df.columns if c != "status" and pd.api.types.is_numeric_dtype(df[c])]
    cat = [c for c in df.columns if c != "status" and c not in num]
    return Pipeline([
        ("pre", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), num),
            ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
        ])),
        ("model", LogisticRegression(max_iter=1000)),
    ])
`;

/** The same pipeline fitted by scikit-learn on the CSV, and its predict_proba on 200 records. */
const EXPECTED_SCRIPT = `import json, sys
import numpy as np
import pandas as pd
${PIPELINE}
df = pd.read_csv(sys.argv[1], na_values=["NA"], keep_default_na=False)
df.columns = [c.lower() for c in df.columns]
features = [c for c in df.columns if c != "status"]
# "records" holds yes/no: the upload makes it a boolean column, which the model takes as 1/0.
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

describe('models registered from python cells', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let caller: ReturnType<typeof callerFor>;
  let admin: Awaited<ReturnType<typeof newUser>>;
  let projectId: string;
  let worker: Awaited<ReturnType<typeof createWorker>>;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const taskQueue = uniqueTaskQueue('python-models');
    worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    void worker.run();
    admin = await newUser(t.db, 'admin');
    const workflows = createWorkflowStarter(client, taskQueue);
    caller = callerFor(t.db, admin, { workflows });
    const team = await caller.teams.create({ name: 'Py models' });
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

  it('registers a scikit-learn pipeline trained in a cell, evaluated on a holdout, and serves it over REST equal to predict_proba to 1e-5', { timeout: 600_000 }, async () => {
    const built = await build([
      python('fit', ['credit'], 'registered', `${PIPELINE}\nregistered = stagebook.register_model("credit-py", credit_pipeline(credit), train=credit, target="status", positive_class="bad")`),
    ]);
    const step = built.steps.find((s) => s.stepId === 'fit')!;
    expect(built.status, JSON.stringify(built.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
    expect(step.result).toMatchObject({ kind: 'train', model: 'credit-py', version: 1, metric: 'auc' });
    expect(step.log.join('\n')).toMatch(/model "credit-py": converted with skl2onnx \((float|double) inputs\), onnxruntime equals predict_proba on 1,000 rows/);

    // The holdout evaluation, by the same metrics as a trained version: a stratified 20 % of 4,454 rows.
    const detail = await caller.models.versionDetail({ projectId, name: 'credit-py', version: 1 });
    expect(detail).toMatchObject({ source: 'trained', algorithm: 'sklearn', champion: true, spec: { language: 'python', target: 'status', positiveClass: 'bad' } });
    const e = detail.metrics!.evaluation;
    const [counts] = (await t.query(
      `select count(*) filter (where status = 'bad')::int as bad, count(*) filter (where status = 'good')::int as good from "${schemaNameOf(projectId, 'design')}".credit`,
    )) as { bad: number; good: number }[];
    expect(e.rows).toBe(Math.round(counts!.bad * 0.2) + Math.round(counts!.good * 0.2));
    expect(e.positives).toBe(Math.round(counts!.bad * 0.2));
    expect(e.auc.auc).toBeGreaterThan(0.75);
    expect(e.auc.lower).toBeLessThan(e.auc.auc);
    expect(e.auc.upper).toBeGreaterThan(e.auc.auc);
    expect(e.roc.length).toBeGreaterThan(10);
    expect(e.calibration.reduce((a, b) => a + b.count, 0)).toBe(e.rows);
    expect(detail.featureSchema).toMatchObject({ target: 'status', classes: ['bad', 'good'], positiveIndex: 0 });
    const audited = await t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'model.train'), eq(auditEvents.projectId, projectId)));
    expect(audited.map((a) => a.details)).toEqual([expect.objectContaining({ model: 'credit-py', version: 1, language: 'python', cell: 'fit' })]);

    // Served like any version: an endpoint on the champion, scored over REST.
    mkdirSync(tmp, { recursive: true });
    writeFileSync(path.join(tmp, 'expected.py'), EXPECTED_SCRIPT);
    const r = spawnSync(pythonCellVenv(), [path.join(tmp, 'expected.py'), creditDataCsv, path.join(tmp, 'expected.json')], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const expected = JSON.parse(readFileSync(path.join(tmp, 'expected.json'), 'utf8')) as Expected;
    await caller.endpoints.create({ projectId, name: 'credit-py', model: 'credit-py' });
    const key = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: ['score:credit-py'] } })).secret;
    const scored = await app.inject({ method: 'POST', url: '/api/v1/endpoints/credit-py/predict', headers: { authorization: `Bearer ${key}` }, payload: { records: expected.records } });
    expect(scored.statusCode, scored.body).toBe(200);
    const predictions = (scored.json() as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions;
    expect(predictions).toHaveLength(200);
    let maxDiff = 0;
    predictions.forEach((p, i) => expected.classes.forEach((c, j) => (maxDiff = Math.max(maxDiff, Math.abs(p.probabilities[c]! - expected.probabilities[i]![j]!)))));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('fails the step naming the problem when the pipeline cannot be converted or onnxruntime disagrees with predict_proba, and registers nothing', { timeout: 300_000 }, async () => {
    const built = await build([
      python(
        'custom',
        ['credit'],
        'registered',
        `from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
df = credit[["amount", "price", "status"]].dropna()
pipe = Pipeline([("log", FunctionTransformer(np.log1p)), ("model", LogisticRegression())])
registered = stagebook.register_model("custom-py", pipe, train=df, target="status", positive_class="bad")`,
      ),
      // A feature around 1e9 loses its digits in the float32 the imputer's ONNX operator computes in.
      python(
        'big',
        ['credit'],
        'big_registered',
        `from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
df = pd.DataFrame({"big": 1e9 + credit["amount"] / 100, "status": credit["status"]})
pipe = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler()), ("model", LogisticRegression())])
big_registered = stagebook.register_model("big-py", pipe, train=df, target="status", positive_class="bad")`,
      ),
    ]);
    expect(built.status).toBe('failed');
    const error = built.steps.find((s) => s.stepId === 'custom')!.error ?? '';
    expect(error).toMatch(/line 8: .*model "custom-py": this pipeline cannot be converted to ONNX \(skl2onnx with double inputs: .*FunctionTransformer/);
    // The traceback is the cell's: stagebook's own frames are left out.
    expect(error).toContain('File "<cell>", line 8');
    expect(error).not.toContain('stagebook.py');
    const mismatch = built.steps.find((s) => s.stepId === 'big')!.error ?? '';
    expect(mismatch).toMatch(/line 9: .*model "big-py": onnxruntime's probabilities differ from predict_proba by [0-9.e-]+ \(more than 1e-05\): row \d+, class "(bad|good)": predict_proba [0-9.]+, onnxruntime [0-9.]+/);
    for (const name of ['custom-py', 'big-py']) await expect(caller.models.versionDetail({ projectId, name, version: 1 })).rejects.toThrow(/not found|NOT_FOUND/i);
  });
});

