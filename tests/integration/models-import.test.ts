import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { buildApp } from '@/server/app';
import { exportOnnx } from '@/server/ml/onnx/export';
import { inferSchema } from '@/server/ml/table';
import { trainModel } from '@/server/ml/train';
import type { CellValue } from '@/server/ml/types';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles, repoRoot } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { mlPythonVenv } from '../helpers/python';
import { parse } from 'csv-parse/sync';

const tmp = path.join(repoRoot, 'tests/.tmp/models-import');

/** A scikit-learn Pipeline (impute, scale, one-hot, logistic regression) on credit data, exported with skl2onnx. */
const SKLEARN_SCRIPT = `
import json, sys
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

csv_path, out_dir = sys.argv[1:3]
df = pd.read_csv(csv_path, na_values=["NA"], keep_default_na=False)
df.columns = [c.lower() for c in df.columns]
features = [c for c in df.columns if c != "status"]
numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c])]
categorical = [c for c in features if c not in numeric]
for c in numeric:
    df[c] = df[c].astype(np.float32)
for c in categorical:
    df[c] = df[c].fillna("").astype(str)
X, y = df[features], df["status"].astype(str)
pipe = Pipeline([
    ("pre", ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])),
    ("model", LogisticRegression(max_iter=1000)),
])
pipe.fit(X.iloc[:3500], y.iloc[:3500])
test = X.iloc[3500:3700]
types = [(c, FloatTensorType([None, 1])) for c in numeric] + [(c, StringTensorType([None, 1])) for c in categorical]
with open(f"{out_dir}/sklearn.onnx", "wb") as f:
    f.write(to_onnx(pipe, initial_types=types, options={"zipmap": False}).SerializeToString())
with open(f"{out_dir}/sklearn-zipmap.onnx", "wb") as f:
    f.write(to_onnx(pipe, initial_types=types).SerializeToString())
records = [{c: (None if isinstance(v, float) and np.isnan(v) else (float(v) if c in numeric else v)) for c, v in row.items()} for row in test.to_dict(orient="records")]
with open(f"{out_dir}/sklearn-expected.json", "w") as f:
    json.dump({"classes": [str(c) for c in pipe.classes_], "records": records, "probabilities": pipe.predict_proba(test).tolist()}, f)
`;

type Expected = { classes: string[]; records: Record<string, unknown>[]; probabilities: number[][] };
let sklearn: Promise<{ onnx: Buffer; zipmap: Buffer; expected: Expected }> | undefined;
function sklearnExport() {
  sklearn ??= (async () => {
    mkdirSync(tmp, { recursive: true });
    writeFileSync(path.join(tmp, 'export.py'), SKLEARN_SCRIPT);
    const r = spawnSync(mlPythonVenv(), [path.join(tmp, 'export.py'), creditDataCsv, tmp], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`sklearn export failed:\n${r.stderr}`);
    return {
      onnx: readFileSync(path.join(tmp, 'sklearn.onnx')),
      zipmap: readFileSync(path.join(tmp, 'sklearn-zipmap.onnx')),
      expected: JSON.parse(readFileSync(path.join(tmp, 'sklearn-expected.json'), 'utf8')) as Expected,
    };
  })();
  return sklearn;
}

/** credit_data.csv trained with our own trainer and exported by our exporter: the file a user would download. */
async function ownExport(): Promise<Uint8Array> {
  const rows = parse(readFileSync(creditDataCsv, 'utf8'), { columns: (h: string[]) => h.map((c) => c.toLowerCase()) }) as Record<string, string>[];
  const columns: Record<string, CellValue[]> = {};
  for (const row of rows) for (const [k, v] of Object.entries(row)) (columns[k] ??= []).push(v === 'NA' ? null : Number.isNaN(Number(v)) ? v : Number(v));
  const result = await trainModel({ columns, schema: inferSchema(columns) }, { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 20 } });
  return exportOnnx(result.model).bytes;
}

describe.each(drivers)('importing ONNX models over REST on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Awaited<ReturnType<typeof newUser>>;
  let editorCookie: string;
  let viewerCookie: string;
  let projectId: string;
  let scoreKey: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Imports' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    const editor = await newUser(t.db, 'editor');
    const viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values([
      { teamId: team.id, userId: editor.userId, role: 'editor' },
      { teamId: team.id, userId: viewer.userId, role: 'viewer' },
    ]);
    editorCookie = `sb_session=${(await createSession(t.db, editor.userId)).token}`;
    viewerCookie = `sb_session=${(await createSession(t.db, viewer.userId)).token}`;
    scoreKey = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: [`score:sk-${driver}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  }, 600_000);
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const upload = (name: string, body: Uint8Array | string, opts: { cookie?: string; type?: string; query?: string } = {}) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/models/${name}/versions${opts.query ?? ''}`,
      headers: { cookie: opts.cookie ?? editorCookie, 'content-type': opts.type ?? 'application/octet-stream' },
      payload: Buffer.from(body),
    });

  it('imports a file made by our own exporter: its feature schema comes from the file, version 1 is champion', async () => {
    const res = await upload('own-trees', await ownExport());
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ modelName: 'own-trees', becameChampion: true, version: { version: 1, source: 'imported', algorithm: 'onnx', champion: true, auc: null } });
    const detail = await callerFor(t.db, admin).models.versionDetail({ projectId, name: 'own-trees', version: 1 });
    expect(detail.featureSchema).toMatchObject({ target: 'status', classes: ['good', 'bad'], positiveIndex: 1 });
    expect(detail.featureSchema.inputs.map((i) => i.name)).toEqual(expect.arrayContaining(['income', 'job', 'records']));
  });

  it("imports a scikit-learn pipeline exported with skl2onnx and scores it over the endpoint equal to predict_proba to 1e-5", async () => {
    const { onnx, expected } = await sklearnExport();
    const res = await upload('sk', onnx, { query: '?positiveClass=bad' });
    expect(res.statusCode, res.body).toBe(201);
    await callerFor(t.db, admin).endpoints.create({ projectId, name: `sk-${driver}`, model: 'sk' });
    const scored = await app.inject({ method: 'POST', url: `/api/v1/endpoints/sk-${driver}/predict`, headers: { authorization: `Bearer ${scoreKey}` }, payload: { records: expected.records } });
    expect(scored.statusCode, scored.body).toBe(200);
    const predictions = (scored.json() as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions;
    let maxDiff = 0;
    predictions.forEach((p, i) => {
      expected.classes.forEach((c, j) => (maxDiff = Math.max(maxDiff, Math.abs(p.probabilities[c]! - expected.probabilities[i]![j]!))));
    });
    expect(predictions).toHaveLength(200);
    expect(maxDiff).toBeLessThan(1e-5);
  }, 600_000);

  it('refuses files it cannot serve with a 400 saying why, and stores nothing', async () => {
    const refused = async (body: Uint8Array | string, pattern: RegExp, query = '') => {
      const res = await upload('broken', body, { query });
      expect(res.statusCode, res.body).toBe(400);
      expect((res.json() as { error: { message: string } }).error.message).toMatch(pattern);
    };
    await refused('', /body is empty/);
    await refused('this is not a model at all', /cannot be served: not an ONNX model/);
    const own = await ownExport();
    await refused(own.subarray(0, Math.floor(own.length / 2)), /cannot be served/);
    const { zipmap, onnx } = await sklearnExport();
    await refused(zipmap, /ZipMap/);
    await refused(onnx, /positive class "ugly" is not one of the model's classes/, '?positiveClass=ugly');
    const [row] = await t.query(`select count(*) as n from models where name = 'broken'`);
    expect(Number(row!.n)).toBe(0);
  }, 600_000);

  it('lets editors import, not viewers; wants application/octet-stream', async () => {
    const own = await ownExport();
    expect((await upload('own-trees', own, { cookie: viewerCookie })).statusCode).toBe(403);
    expect((await upload('own-trees', '{"model": "here"}', { type: 'application/json' })).statusCode).toBe(415);
    expect((await upload('Bad Name', own)).statusCode).toBe(400);
    const again = await upload('own-trees', own);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toMatchObject({ version: { version: 2, champion: false } });
  });
});
