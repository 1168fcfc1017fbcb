import type { PermutationImportance } from './permutation-importance';
import type { ModelColumn } from './features';
import { algorithmOf } from './algorithms';
import {
  type AucWithInterval,
  type CalibrationBin,
  type RocPoint,
  type ThresholdMetrics,
  aucWithInterval,
  calibrationCurve,
  logLoss,
  rocCurve,
  thresholdMetrics,
} from './metrics';
import type { Model } from './model';

export type FeatureImportance = { feature: string; importance: number };

export type Evaluation = {
  rows: number;
  positives: number;
  auc: AucWithInterval;
  logLoss: number;
  atThreshold: ThresholdMetrics;
  roc: RocPoint[];
  calibration: CalibrationBin[];
  /** Per raw feature (one-hot columns summed back), normalised to sum 1, largest first. */
  featureImportance: FeatureImportance[];
  /**
   * The served model's mean |contribution| to the log-odds per feature (the values `explain`
   * returns: coefficient x value, or TreeSHAP) over the first `rows` holdout rows, largest first.
   * Absent on versions trained before explanations.
   */
  contributionImportance?: { rows: number; features: { feature: string; meanAbsContribution: number }[] };
  /**
   * Models a Python cell registered: permutation importance on holdout rows, scored by the server
   * with onnxruntime (server/ml/permutation-importance.ts); `featureImportance` holds its shares.
   */
  permutationImportance?: PermutationImportance;
};

export function evaluate(model: Model, y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): Evaluation {
  return { ...evaluateProbabilities(y, p, threshold), featureImportance: featureImportance(model) };
}

/**
 * The holdout metrics of any binary classifier from its labels (1 = positive class) and
 * positive-class probabilities: what `evaluate` reports, without feature importance (a model trained
 * elsewhere, e.g. in a Python cell, leaves it empty).
 */
export function evaluateProbabilities(y: ArrayLike<number>, p: ArrayLike<number>, threshold: number): Evaluation {
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  return {
    rows: y.length,
    positives,
    auc: aucWithInterval(y, p),
    logLoss: logLoss(y, p),
    atThreshold: thresholdMetrics(y, p, threshold),
    roc: rocCurve(y, p),
    calibration: calibrationCurve(y, p),
    featureImportance: [],
  };
}

/**
 * Trees: total split gain per column. Logistic regression: |coefficient| on standardised features
 * (a one-hot column's coefficient is the effect of that category against none of them).
 */
export function featureImportance(model: Model): FeatureImportance[] {
  return sumByFeature(model.columns, algorithmOf(model.estimator.kind).importance(model.estimator, model.columns));
}

function sumByFeature(columns: ModelColumn[], perColumn: Float64Array): FeatureImportance[] {
  const byFeature = new Map<string, number>();
  columns.forEach((c, j) => byFeature.set(c.feature, (byFeature.get(c.feature) ?? 0) + perColumn[j]!));
  const total = [...byFeature.values()].reduce((a, b) => a + b, 0);
  return [...byFeature.entries()]
    .map(([feature, v]) => ({ feature, importance: total > 0 ? v / total : 0 }))
    .sort((a, b) => b.importance - a.importance);
}
