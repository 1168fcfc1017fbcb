import { describe, expect, it } from 'vitest';
import { python, type TestCell } from '../helpers/pipeline';
import { maxProbabilityDiff, usePythonModelHarness, type Expected, type RestPrediction } from '../helpers/python-models';

/**
 * LightGBM and XGBoost classifiers inside scikit-learn pipelines, registered from Python cells: the
 * project adds pinned lightgbm, xgboost-cpu and onnxmltools (real pip from PyPI, into the project's
 * layer), stagebook.py registers onnxmltools' converters with skl2onnx, and the REST endpoint's
 * scores equal the pipeline's predict_proba computed by a separate script with the same packages.
 * One file, one project and one layer for both: each such file costs minutes. Real Python,
 * bubblewrap, Postgres and Temporal.
 */
const LIGHTGBM = 'lightgbm==4.7.0';
// The CPU build of XGBoost (5.6 MB); the `xgboost` wheel also pulls nvidia-nccl-cu12, a GPU library of ~200 MB.
const XGBOOST = 'xgboost-cpu==3.2.0';
const ONNXMLTOOLS = 'onnxmltools==1.16.0';

const pipelineWith = (imports: string, classifier: string) => `${imports}
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

def credit_pipeline(df):
    num = [c for c in df.columns if c != "status" and pd.api.types.is_numeric_dtype(df[c])]
    cat = [c for c in df.columns if c != "status" and c not in num]
    return Pipeline([
        ("pre", ColumnTransformer([("num", "passthrough", num), ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])),
        ("model", ${classifier}),
    ])
`;
const LGBM_PIPELINE = pipelineWith('from lightgbm import LGBMClassifier', 'LGBMClassifier(n_estimators=50, n_jobs=1, deterministic=True, force_row_wise=True, verbose=-1)');
// A plain XGBClassifier: the user fits nothing by hand and passes the text labels as they are.
const XGB_PIPELINE = pipelineWith('from xgboost import XGBClassifier', 'XGBClassifier(n_estimators=50, max_depth=4, n_jobs=1)');

const fit = (cell: string, model: string, pipeline: string) =>
  python(
    cell,
    ['credit'],
    `${cell}_registered`,
    `${pipeline}\n${cell}_registered = stagebook.register_model("${model}", credit_pipeline(credit), train=credit, target="status", positive_class="bad")`,
  );

/** An XGBClassifier the cell fits itself, as XGBoost wants: on the labels' indexes (bad = 0, good = 1). */
const FITTED_XGB = python(
  'xgb_fitted',
  ['credit'],
  'xgb_fitted_registered',
  `from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from xgboost import XGBClassifier
num = ["seniority", "age", "income", "amount"]
df = credit[[*num, "status"]]
own = Pipeline([("pre", ColumnTransformer([("num", "passthrough", num)])), ("model", XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1))])
own.fit(df[num].astype(float), LabelEncoder().fit_transform(df["status"]))
xgb_fitted_registered = stagebook.register_model("credit-xgb-fitted", own, train=df, target="status", positive_class="bad")`,
);

/** The class with the larger expected probability: what the endpoint's label must say. */
const expectedLabels = (expected: Expected) => expected.probabilities.map((p) => expected.classes[p[0]! > p[1]! ? 0 : 1]);

describe('LightGBM and XGBoost in pipelines registered from python cells', () => {
  const h = usePythonModelHarness('python-boosted-trees');

  async function buildTimed(label: string, cells: TestCell[]) {
    const started = Date.now();
    const built = await h.build(cells);
    console.log(`${label}: build ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(
      built.status,
      JSON.stringify(
        built.steps.map((s) => [s.error, s.log]),
        null,
        1,
      ),
    ).toBe('succeeded');
    return built;
  }

  /** The step of `cell` registered `model` version 1, checked in the cell, with the credit data's classes. */
  async function expectRegistered(built: Awaited<ReturnType<typeof h.build>>, cell: string, model: string) {
    const step = built.steps.find((s) => s.stepId === cell)!;
    expect(step.result).toMatchObject({ kind: 'train', model, version: 1 });
    expect(step.log.join('\n')).toMatch(new RegExp(`model "${model}": converted with skl2onnx \\((float|double) inputs\\), onnxruntime equals predict_proba on 1,000 rows`));
    const detail = await h.caller.models.versionDetail({ projectId: h.projectId, name: model, version: 1 });
    expect(detail.metrics!.evaluation.auc.auc).toBeGreaterThan(0.7);
    expect(detail.featureSchema).toMatchObject({ target: 'status', classes: ['bad', 'good'], positiveIndex: 0 });
  }

  function expectServedAsExpected(model: string, predictions: RestPrediction[], expected: Expected) {
    expect(predictions).toHaveLength(200);
    const maxDiff = maxProbabilityDiff(predictions, expected);
    console.log(`${model}: REST against predict_proba, max difference ${maxDiff.toExponential(2)} on 200 records`);
    expect(maxDiff).toBeLessThan(1e-5);
    expect(predictions.map((p) => p.label)).toEqual(expectedLabels(expected));
  }

  it('without onnxmltools in the project each step fails naming the package to add, and registers nothing', { timeout: 900_000 }, async () => {
    await h.caller.projects.setPythonRequirements({ projectId: h.projectId, requirements: `${LIGHTGBM}\n${XGBOOST}\n` });
    const built = await h.build([fit('lgbm', 'lgbm-no-tools', LGBM_PIPELINE), fit('xgb', 'xgb-no-tools', XGB_PIPELINE)]);
    expect(built.status).toBe('failed');
    for (const [cell, model, kind] of [
      ['lgbm', 'lgbm-no-tools', 'LGBMClassifier'],
      ['xgb', 'xgb-no-tools', 'XGBClassifier'],
    ] as const) {
      const error = built.steps.find((s) => s.stepId === cell)!.error ?? '';
      expect(error).toContain(`model "${model}": converting ${kind} to ONNX needs onnxmltools: add ${ONNXMLTOOLS} to the project's Python packages`);
      await expect(h.caller.models.versionDetail({ projectId: h.projectId, name: model, version: 1 })).rejects.toThrow(/not found|NOT_FOUND/i);
    }
  });

  it('with lightgbm and onnxmltools pinned, serves the LightGBM pipeline over REST equal to predict_proba to 1e-5', { timeout: 900_000 }, async () => {
    await h.caller.projects.setPythonRequirements({ projectId: h.projectId, requirements: `${LIGHTGBM}\n${XGBOOST}\n${ONNXMLTOOLS}\n` });
    await expectRegistered(await buildTimed('credit-lgbm', [fit('lgbm', 'credit-lgbm', LGBM_PIPELINE)]), 'lgbm', 'credit-lgbm');
    const expected = await h.expected(LGBM_PIPELINE, { withProjectPackages: true });
    expectServedAsExpected('credit-lgbm', await h.scoreOverRest('credit-lgbm', expected.records), expected);
  });

  it("serves an XGBClassifier pipeline fitted on the text labels: scores equal predict_proba to 1e-5 and labels answer in the target's words", { timeout: 900_000 }, async () => {
    await h.caller.projects.setPythonRequirements({ projectId: h.projectId, requirements: `${LIGHTGBM}\n${XGBOOST}\n${ONNXMLTOOLS}\n` });
    const built = await buildTimed('credit-xgb', [fit('xgb', 'credit-xgb', XGB_PIPELINE), FITTED_XGB]);
    await expectRegistered(built, 'xgb', 'credit-xgb');
    // Fitted in the cell on LabelEncoder's indexes: taken as the sorted classes and named like them.
    await expectRegistered(built, 'xgb_fitted', 'credit-xgb-fitted');
    // XGBoost learns 0..k-1: the expectation fits on LabelEncoder's indexes, whose classes name the columns.
    const expected = await h.expected(XGB_PIPELINE, { withProjectPackages: true, labels: 'indexes' });
    expect(expected.classes).toEqual(['bad', 'good']);
    const predictions = await h.scoreOverRest('credit-xgb', expected.records);
    expectServedAsExpected('credit-xgb', predictions, expected);
    expect(new Set(predictions.map((p) => p.label))).toEqual(new Set(['bad', 'good']));
  });
});
