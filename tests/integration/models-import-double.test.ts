import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeOnnxModel } from '@/server/ml/onnx/describe';
import { predict } from '@/server/scoring/session-cache';
import { sharedDataFile } from '../helpers/data';
import { mlPythonVenv } from '../helpers/python';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tmp = path.join(repoRoot, 'tests/.tmp/import-double');

/**
 * Double-precision scikit-learn classifiers as skl2onnx writes them: no LinearClassifier (it has no
 * double kernel) but MatMul, ArgMax and ArrayFeatureExtractor from an initializer holding the
 * classes, which are strings ("bad"/"good") in one file and integers (0/1) in the other.
 */
const SCRIPT = `
import json, sys
import numpy as np
import pandas as pd
import onnx
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType

csv_path, target, out_dir = sys.argv[1:4]
df = pd.read_csv(csv_path, na_values=["NA"], keep_default_na=False)
numeric = [c for c in df.columns if c != target and pd.api.types.is_numeric_dtype(df[c])]
# onnxruntime has no double Imputer: the rows are complete before they reach the pipeline.
X = df[numeric].astype(np.float64)
X = X.fillna(X.median())
n_train = int(len(df) * 0.8)
test = X.iloc[n_train:]
records = [{c: (None if np.isnan(v) else float(v)) for c, v in row.items()} for row in test.to_dict(orient="records")]
out = {"records": records, "features": numeric}
for name, y in [("strings", df[target].astype(str)), ("ints", (df[target] == "bad").astype(np.int64))]:
    pipe = Pipeline([
        ("pre", ColumnTransformer([("num", StandardScaler(), numeric)])),
        ("model", LogisticRegression(max_iter=1000)),
    ])
    pipe.fit(X.iloc[:n_train], y.iloc[:n_train])
    onx = to_onnx(pipe, initial_types=[(c, DoubleTensorType([None, 1])) for c in numeric], options={"zipmap": False})
    onnx.save(onx, f"{out_dir}/{name}.onnx")
    ops = sorted({n.op_type for n in onx.graph.node})
    out[name] = {"classes": [str(c) for c in pipe.classes_], "probabilities": pipe.predict_proba(test).tolist(), "labels": [str(l) for l in pipe.predict(test)], "ops": ops}
with open(f"{out_dir}/expected.json", "w") as f:
    json.dump(out, f)
`;

type Expected = { classes: string[]; probabilities: number[][]; labels: string[]; ops: string[] };

describe('double-precision scikit-learn classifiers (classes in an initializer)', () => {
  let expected: { records: Record<string, number | null>[]; features: string[]; strings: Expected; ints: Expected };
  beforeAll(() => {
    mkdirSync(tmp, { recursive: true });
    const script = path.join(tmp, 'export_double.py');
    writeFileSync(script, SCRIPT);
    const r = spawnSync(mlPythonVenv(), [script, sharedDataFile('credit_data.csv'), 'Status', tmp], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`sklearn export failed:\n${r.stderr}`);
    expected = JSON.parse(readFileSync(path.join(tmp, 'expected.json'), 'utf8'));
  }, 900_000);

  it.each([
    ['strings', 'bad'],
    ['ints', '1'],
  ] as const)("serves the %s-class file: scores equal scikit-learn's predict_proba to 1e-5", async (name, positive) => {
    const e = expected[name];
    // The files are what the test says: double inputs, no classifier operator with class labels.
    expect(e.ops).not.toContain('LinearClassifier');
    expect(e.ops).toContain('ArrayFeatureExtractor');
    const bytes = readFileSync(path.join(tmp, `${name}.onnx`));
    const schema = describeOnnxModel(bytes, { positiveClass: positive });
    expect(schema.classes).toEqual(e.classes);
    expect(schema.inputs.map((i) => [i.name, i.tensor])).toEqual(expected.features.map((f) => [f, 'double']));
    const session = await ort.InferenceSession.create(bytes);
    const scored = await predict(session, schema, expected.records);
    await session.release();
    const p = e.classes.indexOf(positive);
    let maxDiff = 0;
    scored.forEach((s, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(s.probabilities.pos - e.probabilities[i]![p]!), Math.abs(s.probabilities.neg - e.probabilities[i]![1 - p]!));
      expect(s.label).toBe(e.labels[i]);
    });
    expect(scored.length).toBeGreaterThan(800);
    expect(maxDiff).toBeLessThan(1e-5);
  });
});
