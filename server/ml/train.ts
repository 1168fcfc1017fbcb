import { pacer } from './control';
import { MlInputError } from './errors';
import { type Evaluation, evaluate } from './evaluate';
import { algorithmOf } from './algorithms';
import { encodeFeatures, modelColumns, planFeatures } from './features';
import { type Model, predictEncoded } from './model';
import { TrainSpec, type TrainSpecInput } from './spec';
import { type Split, holdoutSplit } from './split';
import { MISSING_TARGET, columnOf, rowCount, targetVector } from './table';
import type { Table, TrainingControl } from './types';

export type TrainResult = {
  model: Model;
  /** On the holdout rows. */
  evaluation: Evaluation;
  /** Row indices of the table (rows with a missing target are in neither part). */
  split: Split;
  /** Positive-class probability of each holdout row, in split.holdout order. */
  holdoutProbabilities: Float64Array;
  training: {
    rows: number;
    rowsWithoutTarget: number;
    iterations: number;
    /** Logistic regression: the optimiser met its tolerance. Trees: always true. */
    converged: boolean;
    earlyStopped: boolean;
    seconds: number;
  };
};

/**
 * Trains a model on a table: split, fit the preprocessing on the training rows, fit the estimator,
 * score the holdout and evaluate. Throws MlInputError for a user's mistake (bad spec, unknown
 * column, one class only); rejects with `signal.reason` when cancelled.
 */
export async function trainModel(table: Table, specInput: TrainSpecInput, control: TrainingControl = {}): Promise<TrainResult> {
  const started = performance.now();
  const spec = parseSpec(specInput);
  const pace = pacer(control.signal);
  const n = rowCount(table);
  const { y, target } = targetVector(table, spec.target, spec.positiveClass);
  const labelled = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => y[i] !== MISSING_TARGET);
  const split = holdoutSplit(y, spec.holdout, labelled);
  requireBothClasses(y, split.train, 'training part');
  requireBothClasses(y, split.holdout, 'holdout');

  const featureNames = chooseFeatures(table, spec);
  const plan = planFeatures(table, featureNames, split.train, spec.categorical);
  const enc = encodeFeatures(table, plan, n);
  const columns = modelColumns(plan);
  await pace();

  const fitted = await algorithmOf(spec.algorithm).fit({ enc, plan, rows: n, y, split, params: spec.params, seed: spec.holdout.seed, pace, onProgress: control.onProgress });
  const { iterations, converged, earlyStopped } = fitted;
  const model: Model = { algorithm: spec.algorithm, target, features: plan, columns, estimator: fitted.estimator };

  const p = predictEncoded(model, enc, split.holdout);
  const evaluation = evaluate(model, Uint8Array.from(split.holdout, (r) => y[r]!), p, spec.threshold);
  return {
    model,
    evaluation,
    split,
    holdoutProbabilities: p,
    training: {
      rows: labelled.length,
      rowsWithoutTarget: n - labelled.length,
      iterations,
      converged,
      earlyStopped,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

function parseSpec(input: TrainSpecInput): TrainSpec {
  const parsed = TrainSpec.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new MlInputError(`train spec: ${issue.path.join('.') || '(root)'}: ${issue.message}`, issue.path.join('.'));
}

function chooseFeatures(table: Table, spec: TrainSpec): string[] {
  if (!spec.features) {
    const names = table.schema.filter((c) => c.name !== spec.target && c.type !== 'text').map((c) => c.name);
    if (names.length === 0) throw new MlInputError('the table has no feature columns besides the target', 'features');
    return names;
  }
  const seen = new Set<string>();
  for (const name of spec.features) {
    if (name === spec.target) throw new MlInputError(`the target "${name}" cannot also be a feature`, 'features');
    if (seen.has(name)) throw new MlInputError(`feature "${name}" is listed twice`, 'features');
    seen.add(name);
    columnOf(table, name);
  }
  return spec.features;
}

function requireBothClasses(y: Uint8Array, rows: Uint32Array, part: string) {
  let positives = 0;
  for (const r of rows) positives += y[r]!;
  if (positives === 0 || positives === rows.length) {
    throw new MlInputError(`the ${part} has only one class (${rows.length} rows): add data or change the holdout`, 'holdout');
  }
}
