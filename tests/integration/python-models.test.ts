import { describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditEvents } from '@/db/schema';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { python } from '../helpers/pipeline';
import { maxProbabilityDiff, usePythonModelHarness } from '../helpers/python-models';

/**
 * Models trained in a Python cell (stagebook.register_model), end to end: real Python and bubblewrap,
 * Postgres, Temporal, onnxruntime and the REST endpoint. The expectation is scikit-learn's own
 * predict_proba, computed by a separate script in the same venv from the CSV file.
 */
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

describe('models registered from python cells', () => {
  const h = usePythonModelHarness('python-models');

  it('registers a scikit-learn pipeline trained in a cell, evaluated on a holdout, and serves it over REST equal to predict_proba to 1e-5', { timeout: 600_000 }, async () => {
    const built = await h.build([
      python('fit', ['credit'], 'registered', `${PIPELINE}\nregistered = stagebook.register_model("credit-py", credit_pipeline(credit), train=credit, target="status", positive_class="bad")`),
    ]);
    const step = built.steps.find((s) => s.stepId === 'fit')!;
    expect(built.status, JSON.stringify(built.steps.map((s) => [s.error, s.log]), null, 1)).toBe('succeeded');
    expect(step.result).toMatchObject({ kind: 'train', model: 'credit-py', version: 1, metric: 'auc' });
    expect(step.log.join('\n')).toMatch(/model "credit-py": converted with skl2onnx \((float|double) inputs\), onnxruntime equals predict_proba on 1,000 rows/);

    // The holdout evaluation, by the same metrics as a trained version: a stratified 20 % of 4,454 rows.
    const detail = await h.caller.models.versionDetail({ projectId: h.projectId, name: 'credit-py', version: 1 });
    expect(detail).toMatchObject({ source: 'trained', algorithm: 'sklearn', champion: true, spec: { language: 'python', target: 'status', positiveClass: 'bad' } });
    const e = detail.metrics!.evaluation;
    const [counts] = (await h.t.query(
      `select count(*) filter (where status = 'bad')::int as bad, count(*) filter (where status = 'good')::int as good from "${schemaNameOf(h.projectId, 'design')}".credit`,
    )) as { bad: number; good: number }[];
    expect(e.rows).toBe(Math.round(counts!.bad * 0.2) + Math.round(counts!.good * 0.2));
    expect(e.positives).toBe(Math.round(counts!.bad * 0.2));
    expect(e.auc.auc).toBeGreaterThan(0.75);
    expect(e.auc.lower).toBeLessThan(e.auc.auc);
    expect(e.auc.upper).toBeGreaterThan(e.auc.auc);
    expect(e.roc.length).toBeGreaterThan(10);
    expect(e.calibration.reduce((a, b) => a + b.count, 0)).toBe(e.rows);
    expect(detail.featureSchema).toMatchObject({ target: 'status', classes: ['bad', 'good'], positiveIndex: 0 });
    const audited = await h.t.db.select().from(auditEvents).where(and(eq(auditEvents.action, 'model.train'), eq(auditEvents.projectId, h.projectId)));
    expect(audited.map((a) => a.details)).toEqual([expect.objectContaining({ model: 'credit-py', version: 1, language: 'python', cell: 'fit' })]);

    // Served like any version: an endpoint on the champion, scored over REST.
    const expected = await h.expected(PIPELINE);
    const predictions = await h.scoreOverRest('credit-py', expected.records);
    expect(predictions).toHaveLength(200);
    expect(maxProbabilityDiff(predictions, expected)).toBeLessThan(1e-5);
  });

  it('fails the step naming the problem when the pipeline cannot be converted or onnxruntime disagrees with predict_proba, and registers nothing', { timeout: 300_000 }, async () => {
    const built = await h.build([
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
      // Fitted in the cell on another target (a yes/no of it): its classes are not status's.
      python(
        'prefit',
        ['credit'],
        'prefit_registered',
        `from sklearn.linear_model import LogisticRegression
df = credit[["amount", "status"]].dropna()
pipe = LogisticRegression().fit(df[["amount"]], df["status"] == "bad")
prefit_registered = stagebook.register_model("prefit-py", pipe, train=df, target="status", positive_class="bad")`,
      ),
    ]);
    expect(built.status).toBe('failed');
    expect(built.steps.find((s) => s.stepId === 'prefit')!.error).toContain(
      'model "prefit-py": the fitted pipeline predicts the classes False, True, but "status" holds bad, good (or pass the pipeline unfitted and register_model fits it)',
    );
    const error = built.steps.find((s) => s.stepId === 'custom')!.error ?? '';
    expect(error).toMatch(/line 8: .*model "custom-py": this pipeline cannot be converted to ONNX \(skl2onnx with double inputs: .*FunctionTransformer/);
    // The traceback is the cell's: stagebook's own frames are left out.
    expect(error).toContain('File "<cell>", line 8');
    expect(error).not.toContain('stagebook.py');
    const mismatch = built.steps.find((s) => s.stepId === 'big')!.error ?? '';
    expect(mismatch).toMatch(/line 9: .*model "big-py": onnxruntime's probabilities differ from predict_proba by [0-9.e-]+ \(more than 1e-05\): row \d+, class "(bad|good)": predict_proba [0-9.]+, onnxruntime [0-9.]+/);
    for (const name of ['custom-py', 'big-py', 'prefit-py']) await expect(h.caller.models.versionDetail({ projectId: h.projectId, name, version: 1 })).rejects.toThrow(/not found|NOT_FOUND/i);
  });
});

