import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import { scoreDataset } from '@/server/services/models/score-dataset';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles, repoRoot } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { uploadCredit } from '../helpers/models';
import { mlPythonVenv } from '../helpers/python';

const tmp = path.join(repoRoot, 'tests/.tmp/models-import-packed');

/**
 * scikit-learn pipelines exported the way most people export them: ONE input `X` of shape [N, k]
 * (skl2onnx's default for a numpy matrix), so the file itself has no feature names. One file is
 * double precision without names; the other float, with the names in its `feature_names` metadata.
 */
const SCRIPT = `
import json, sys
import numpy as np
import pandas as pd
import onnx
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

csv_path, out_dir = sys.argv[1:3]
df = pd.read_csv(csv_path, na_values=["NA"], keep_default_na=False)
df.columns = [c.lower() for c in df.columns]
numeric = [c for c in df.columns if c != "status" and pd.api.types.is_numeric_dtype(df[c])]
y = df["status"].astype(str)
out = {"features": numeric}

# Double precision: onnxruntime has no double Imputer, so the rows are complete before the pipeline.
Xd = df[numeric].astype(np.float64)
Xd = Xd.fillna(Xd.median())
double = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=1000))])
double.fit(Xd.values[:3500], y[:3500])
onx = to_onnx(double, initial_types=[("X", DoubleTensorType([None, len(numeric)]))], options={"zipmap": False})
onnx.save(onx, f"{out_dir}/packed-double.onnx")
test = Xd.iloc[3500:3700]
out["double"] = {
    "input_dims": [d.dim_value for d in onx.graph.input[0].type.tensor_type.shape.dim],
    "records": [{c: float(v) for c, v in row.items()} for row in test.to_dict(orient="records")],
    "classes": [str(c) for c in double.classes_],
    "probabilities": double.predict_proba(test.values).tolist(),
}

# Float, NaN handled in the graph, names in the metadata: every row of the file is scored.
Xf = df[numeric].astype(np.float32)
single = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()), ("model", LogisticRegression(max_iter=1000))])
single.fit(Xf.values[:3500], y[:3500])
onx = to_onnx(single, initial_types=[("X", FloatTensorType([None, len(numeric)]))], options={"zipmap": False})
onnx.helper.set_model_props(onx, {"feature_names": json.dumps(numeric)})
onnx.save(onx, f"{out_dir}/packed-meta.onnx")
out["meta"] = {
    "records": [{c: (None if np.isnan(v) else float(v)) for c, v in row.items()} for row in Xf.to_dict(orient="records")],
    "classes": [str(c) for c in single.classes_],
    "probabilities": single.predict_proba(Xf.values).tolist(),
}
with open(f"{out_dir}/expected.json", "w") as f:
    json.dump(out, f)
`;

type Scored = { records: Record<string, number | null>[]; classes: string[]; probabilities: number[][] };
type Expected = { features: string[]; double: Scored & { input_dims: number[] }; meta: Scored };

let exported: Promise<{ double: Buffer; meta: Buffer; expected: Expected }> | undefined;
function exportPacked() {
  exported ??= (async () => {
    mkdirSync(tmp, { recursive: true });
    writeFileSync(path.join(tmp, 'export.py'), SCRIPT);
    const r = spawnSync(mlPythonVenv(), [path.join(tmp, 'export.py'), creditDataCsv, tmp], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`sklearn export failed:\n${r.stderr}`);
    return {
      double: readFileSync(path.join(tmp, 'packed-double.onnx')),
      meta: readFileSync(path.join(tmp, 'packed-meta.onnx')),
      expected: JSON.parse(readFileSync(path.join(tmp, 'expected.json'), 'utf8')) as Expected,
    };
  })();
  return exported;
}

const maxDiff = (got: number[], want: number[]) => got.reduce((m, p, i) => Math.max(m, Math.abs(p - want[i]!)), 0);

describe.each(drivers)('importing a model with one packed [N, k] input on %s', (driver) => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Awaited<ReturnType<typeof newUser>>;
  let cookie: string;
  let projectId: string;
  let scoreKey: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Packed' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    cookie = `sb_session=${(await createSession(t.db, admin.userId)).token}`;
    scoreKey = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: [`score:packed-${driver}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
  }, 600_000);
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const upload = (name: string, body: Uint8Array, query = '') =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/models/${name}/versions${query}`, headers: { cookie, 'content-type': 'application/octet-stream' }, payload: Buffer.from(body) });
  const features = (names: string[]) => `?${new URLSearchParams({ features: names.join(','), positiveClass: 'bad' })}`;
  const message = (res: { json: () => unknown }) => (res.json() as { error: { message: string } }).error.message;
  const stored = async (name: string) => Number((await t.query(`select count(*) as n from models where name = $1`, [name]))[0]!.n);

  it('refuses a packed input without names, with the wrong number of names, or a name twice: a 400 saying which, nothing stored', async () => {
    const { double, expected } = await exportPacked();
    const k = expected.features.length;
    expect(expected.double.input_dims).toEqual([0, k]); // the file really is one [N, k] input
    const none = await upload('packed', double, '?positiveClass=bad');
    expect(none.statusCode, none.body).toBe(400);
    expect(message(none)).toBe(
      `this ONNX file cannot be served: input "X" takes ${k} columns: give its feature names in column order at import (?features=a,b,c) or in the model's "feature_names" metadata, or export one [N,1] input per feature`,
    );
    const short = await upload('packed', double, features(expected.features.slice(1)));
    expect(short.statusCode).toBe(400);
    expect(message(short)).toBe(`this ONNX file cannot be served: input "X" takes ${k} columns but the features given at import name ${k - 1} features`);
    const twice = await upload('packed', double, features([...expected.features.slice(0, -1), expected.features[0]!]));
    expect(twice.statusCode).toBe(400);
    expect(message(twice)).toBe(`this ONNX file cannot be served: the features given at import names "${expected.features[0]}" twice`);
    const blank = await upload('packed', double, features([...expected.features.slice(0, -1), ' ']));
    expect(message(blank)).toMatch(/has an empty name at position \d+/);
    expect(await stored('packed')).toBe(0);
  }, 900_000);

  it("serves it over REST with records keyed by the given names, equal to scikit-learn's predict_proba to 1e-5", async () => {
    const { double, expected } = await exportPacked();
    const res = await upload('packed', double, features(expected.features));
    expect(res.statusCode, res.body).toBe(201);
    await callerFor(t.db, admin).endpoints.create({ projectId, name: `packed-${driver}`, model: 'packed' });
    const scored = await app.inject({ method: 'POST', url: `/api/v1/endpoints/packed-${driver}/predict`, headers: { authorization: `Bearer ${scoreKey}` }, payload: { records: expected.double.records } });
    expect(scored.statusCode, scored.body).toBe(200);
    const predictions = (scored.json() as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions;
    expect(predictions).toHaveLength(200);
    const bad = expected.double.classes.indexOf('bad');
    expect(maxDiff(predictions.map((p) => p.probabilities.bad!), expected.double.probabilities.map((p) => p[bad]!))).toBeLessThan(1e-5);
    // A record without one of the named columns names it.
    const { [expected.features[2]!]: _dropped, ...partial } = expected.double.records[0]!;
    const missing = await app.inject({ method: 'POST', url: `/api/v1/endpoints/packed-${driver}/predict`, headers: { authorization: `Bearer ${scoreKey}` }, payload: { records: [partial] } });
    expect(missing.statusCode).toBe(400);
    expect(message(missing)).toContain(`records[0].${expected.features[2]}: missing feature`);
  }, 900_000);

  it("takes the names from the file's feature_names metadata, and batch-scores a dataset with it equal to predict_proba", async () => {
    const { meta, expected } = await exportPacked();
    const res = await upload('packed-meta', meta, '?positiveClass=bad');
    expect(res.statusCode, res.body).toBe(201);
    const [version] = await t.query(`select v.feature_schema from model_versions v join models m on m.id = v.model_id where m.name = 'packed-meta'`);
    const schema = version!.feature_schema as { inputs: { name: string; input: string; column?: number }[] };
    expect(schema.inputs.map((f) => [f.name, f.input, f.column])).toEqual(expected.features.map((f, i) => [f, 'X', i]));

    await uploadCredit(t.db, admin, projectId);
    await scoreDataset({ ctx: ctxFor(t.db, admin), input: { projectId, model: 'packed-meta', dataset: 'credit', output: 'credit_packed' } });
    const cols = expected.features.map((f) => `${f}::float8 as ${f}`).join(', ');
    const rows = await t.query(`select ${cols}, probability from "${schemaNameOf(projectId, 'design')}".credit_packed`);
    expect(rows).toHaveLength(expected.meta.records.length);
    // Rows keyed by their feature values (rows with equal features have equal scores).
    const key = (r: Record<string, unknown>) => expected.features.map((f) => (r[f] === null ? 'null' : String(Number(r[f])))).join('|');
    const bad = expected.meta.classes.indexOf('bad');
    const want = new Map(expected.meta.records.map((r, i) => [key(r), expected.meta.probabilities[i]![bad]!]));
    let worst = 0;
    for (const r of rows) {
      const w = want.get(key(r));
      expect(w, `no scikit-learn score for ${key(r)}`).toBeDefined();
      worst = Math.max(worst, Math.abs(Number(r.probability) - w!));
    }
    expect(worst).toBeLessThan(1e-5);
  }, 900_000);
});
