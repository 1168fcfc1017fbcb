import { logLoss, rocAuc, thresholdMetrics } from '@/server/ml/metrics';
import type { ScenarioStep } from '@/server/pipeline';

/** The retrain step's gate: how a challenger and the champion are compared on the same rows (pure). */

export type Gate = Extract<ScenarioStep, { type: 'retrain' }>['gate'];
export type Comparator = NonNullable<Gate['comparator']>;

/** Scores that grow are compared with >=, losses with <=, unless the gate says otherwise. */
export const defaultComparator = (metric: Gate['metric']): Comparator => (metric === 'log_loss' ? '<=' : '>=');

/** Whether the challenger beats the champion by at least `minImprovement` in the comparator's direction. */
export function gatePasses(comparator: Comparator, challenger: number, champion: number, minImprovement: number): boolean {
  switch (comparator) {
    case '>=':
      return challenger >= champion + minImprovement;
    case '>':
      return challenger > champion + minImprovement;
    case '<=':
      return challenger <= champion - minImprovement;
    case '<':
      return challenger < champion - minImprovement;
  }
}

function metricOf(metric: Gate['metric'], y: Uint8Array, p: ArrayLike<number>, threshold: number): number {
  switch (metric) {
    case 'auc':
      return rocAuc(y, p);
    case 'log_loss':
      return logLoss(y, p);
    case 'accuracy':
      return thresholdMetrics(y, p, threshold).accuracy;
    case 'f1':
      return thresholdMetrics(y, p, threshold).f1;
  }
}

/**
 * The gate on labels `y` and both models' P(positive) for the same rows. Never passes on a
 * comparison that cannot be made: fewer rows than `minRows`, one class only (AUC and the like are
 * undefined), or a model answering NaN (its metric is NaN, whatever the metric would say).
 */
export function judgeGate(gate: Gate, threshold: number, y: Uint8Array, championP: ArrayLike<number>, challengerP: ArrayLike<number>) {
  const comparator = gate.comparator ?? defaultComparator(gate.metric);
  const bothClasses = y.some((v) => v === 1) && y.some((v) => v === 0);
  // A rank metric (AUC) or a thresholded one stays finite over NaN probabilities, so they are
  // checked themselves: a model that answers NaN has no value to compare.
  const finite = (p: ArrayLike<number>) => Array.prototype.every.call(p, (v: number) => Number.isFinite(v));
  const valueOf = (p: ArrayLike<number>) => (bothClasses && finite(p) ? metricOf(gate.metric, y, p, threshold) : Number.NaN);
  const championValue = valueOf(championP);
  const challengerValue = valueOf(challengerP);
  const enoughRows = y.length >= gate.minRows;
  const passed = enoughRows && bothClasses && Number.isFinite(challengerValue) && Number.isFinite(championValue) && gatePasses(comparator, challengerValue, championValue, gate.minImprovement);
  return { comparator, bothClasses, championValue, challengerValue, enoughRows, passed };
}
