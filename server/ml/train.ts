import { pacer } from './control';
import { MlInputError } from './errors';
import { algorithmOf } from './algorithms';
import { type Evaluation, evaluate, featureImportance } from './evaluate';
import { explainEncoded, globalImportance } from './explain';
import { type EncodedFeatures, encodeFeatures, planFeatures } from './features';
import { type Model, predictEncoded } from './model';
import { TrainSpec, type TrainSpecInput } from './spec';
import { type Split, holdoutSplit } from './split';
import { MISSING_TARGET, classOf, columnOf, rowCount, targetVector } from './table';
import type { Table, Target, TrainingControl } from './types';

export type TrainResult = {
  model: Model;
  /** On the holdout rows. */
  evaluation: Evaluation;
  /** Row indices of the table (rows with a missing target are in neither part). */
  split: Split;
  /**
   * Positive-class probability of each holdout row, in split.holdout order, by the model fitted on
   * split.train (the estimate; after a refit the served model has seen these rows).
   */
  holdoutProbabilities: Float64Array;
  /** Rows the returned model was fitted on: every labelled row after a refit, else split.train. */
  fittedRows: Uint32Array;
  training: {
    rows: number;
    rowsWithoutTarget: number;
    /** 'all': refit on every labelled row after the holdout evaluation; 'training': split.train only. */
    fittedOn: 'all' | 'training';
    fittedRows: number;
    holdoutRows: number;
    iterations: number;
    /** Logistic regression: the optimiser met its tolerance. Trees: always true. */
    converged: boolean;
    earlyStopped: boolean;
    seconds: number;
    /** Columns left out (constant, all missing, an id) and other things the user should know. */
    warnings: string[];
  };
};

/**
 * Trains a model on a table: split, fit the preprocessing on the training rows, fit the estimator,
 * score the holdout and evaluate; then (spec.refit, the default) fit preprocessing and estimator
 * again on every labelled row, as the served model. Throws MlInputError for a user's mistake (bad
 * spec, unknown column, one class only); rejects with `signal.reason` when cancelled.
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

  const warnings: string[] = [];
  const classes = classCount(table, spec.target);
  if (classes > 2) {
    warnings.push(
      `the target "${spec.target}" has ${classes} classes: trained one-vs-rest, "${spec.positiveClass}" against the other ${classes - 1} together; set positiveClass to model another class`,
    );
  }
  const featureNames = screenFeatures(table, chooseFeatures(table, spec), labelled, warnings);
  // Two fits when refitting: the holdout estimate, then the served model on every labelled row
  // (progress reports both fits; the iteration count restarts for the refit).
  const holdoutFit = await fitOn(table, spec, target, featureNames, y, split.train, split, n, pace, control);
  const p = predictEncoded(holdoutFit.model, holdoutFit.enc, split.holdout);
  const served = spec.refit ? await fitOn(table, spec, target, featureNames, y, labelled, split, n, pace, control) : holdoutFit;
  const evaluation = {
    ...evaluate(holdoutFit.model, Uint8Array.from(split.holdout, (r) => y[r]!), p, spec.threshold),
    // Importance describes the served model.
    featureImportance: featureImportance(served.model),
    contributionImportance: contributionImportance(served, split.holdout),
  };
  const fittedRows = spec.refit ? labelled : split.train;
  return {
    model: served.model,
    evaluation,
    split,
    holdoutProbabilities: p,
    fittedRows,
    training: {
      rows: labelled.length,
      rowsWithoutTarget: n - labelled.length,
      fittedOn: spec.refit ? 'all' : 'training',
      fittedRows: fittedRows.length,
      holdoutRows: split.holdout.length,
      iterations: served.iterations,
      converged: served.converged,
      earlyStopped: served.earlyStopped,
      seconds: (performance.now() - started) / 1000,
      warnings,
    },
  };
}

/** Holdout rows explained for the model page's global importance (TreeSHAP: ~0.5 s for 100 rows of 100 trees, ~10% of a credit_data fit). */
const IMPORTANCE_ROWS = 100;

function contributionImportance(served: Fitted, holdout: Uint32Array): Evaluation['contributionImportance'] {
  const rows = holdout.subarray(0, IMPORTANCE_ROWS);
  return { rows: rows.length, features: globalImportance(explainEncoded(served.model, served.enc, rows)) };
}

type Fitted = { model: Model; enc: EncodedFeatures; iterations: number; converged: boolean; earlyStopped: boolean };

async function fitOn(
  table: Table,
  spec: TrainSpec,
  target: Target,
  featureNames: string[],
  y: Uint8Array,
  rows: Uint32Array,
  split: Split,
  n: number,
  pace: () => Promise<void>,
  control: TrainingControl,
): Promise<Fitted> {
  const plan = planFeatures(table, featureNames, rows, spec.categorical);
  const enc = encodeFeatures(table, plan, n);
  const algorithm = algorithmOf(spec.algorithm);
  const columns = algorithm.columns(plan);
  await pace();
  // The algorithm fits on `rows` (the training part, or every labelled row for the refit).
  const fitted = await algorithm.fit({ enc, plan, rows: n, y, split: { ...split, train: rows }, params: spec.params, seed: spec.holdout.seed, pace, onProgress: control.onProgress });
  const model: Model = { algorithm: spec.algorithm, target, features: plan, columns, estimator: fitted.estimator };
  return { model, enc, iterations: fitted.iterations, converged: fitted.converged, earlyStopped: fitted.earlyStopped };
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

function classCount(table: Table, target: string): number {
  const seen = new Set<string>();
  for (const v of columnOf(table, target).values) {
    const c = classOf(v ?? null);
    if (c !== null) seen.add(c);
  }
  return seen.size;
}

/** At least this many rows before a column with a distinct value in every row counts as an id. */
const ID_MIN_ROWS = 20;

/**
 * Leaves out columns a model cannot learn from, with a warning each: all missing, one value in
 * every row, or a distinct value per row that looks like an identifier (text, or integers counting
 * up). Warns about a text column whose values are nearly all numbers (naming the others). Keeps
 * the columns if that would leave none.
 */
function screenFeatures(table: Table, names: string[], rows: Uint32Array, warnings: string[]): string[] {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const name of names) {
    const { schema, values } = columnOf(table, name);
    const distinct = new Set<string>();
    let present = 0;
    let numbers = 0;
    const notNumbers = new Set<string>();
    let min = Infinity;
    let max = -Infinity;
    for (const r of rows) {
      const v = values[r] ?? null;
      if (v === null || v === '') continue;
      present++;
      const key = String(v);
      distinct.add(key);
      if (schema.type === 'integer' && typeof v === 'number') {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      if (schema.type === 'categorical' || schema.type === 'text') {
        if (key.trim() !== '' && Number.isFinite(Number(key))) numbers++;
        else if (notNumbers.size < 5) notNumbers.add(key);
      }
    }
    let reason: string | null = null;
    if (present === 0) reason = 'is missing in every row';
    else if (distinct.size === 1 && present === rows.length) reason = `has one value (${JSON.stringify([...distinct][0])}) in every row`;
    else if (present === rows.length && distinct.size === rows.length && rows.length >= ID_MIN_ROWS) {
      if (schema.type === 'categorical' || schema.type === 'text') reason = 'has a different value in every row (an id?)';
      else if (schema.type === 'integer' && max - min + 1 === rows.length) reason = 'counts up by one per row (an id?)';
    }
    if (reason) {
      dropped.push(name);
      warnings.push(`column "${name}" ${reason}: left out of the features`);
      continue;
    }
    if (numbers > 0 && numbers >= 0.9 * present && notNumbers.size > 0) {
      warnings.push(
        `column "${name}" is stored as text but nearly all its values are numbers; these are not: ${[...notNumbers].map((v) => JSON.stringify(v)).join(', ')} (fix them to treat it as a number)`,
      );
    }
    kept.push(name);
  }
  if (kept.length === 0) {
    warnings.splice(warnings.length - dropped.length, dropped.length);
    return names;
  }
  return kept;
}

function requireBothClasses(y: Uint8Array, rows: Uint32Array, part: string) {
  let positives = 0;
  for (const r of rows) positives += y[r]!;
  if (positives === 0 || positives === rows.length) {
    throw new MlInputError(`the ${part} has only one class (${rows.length} rows): add data or change the holdout`, 'holdout');
  }
}
