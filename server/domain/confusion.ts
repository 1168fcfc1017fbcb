/** The figures of one decision threshold (predicted positive when p >= threshold). */
export type ThresholdMetrics = {
  threshold: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
};

/**
 * A threshold's figures from its confusion counts, for the model's holdout (server/ml/metrics.ts)
 * and the model page's threshold slider alike. Precision is 0 when nothing is predicted positive,
 * recall 0 when there are no positives, accuracy 0 for no rows.
 */
export function confusionMetrics(threshold: number, tp: number, fp: number, tn: number, fn: number): ThresholdMetrics {
  const total = tp + fp + tn + fn;
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return {
    threshold,
    truePositives: tp,
    falsePositives: fp,
    trueNegatives: tn,
    falseNegatives: fn,
    accuracy: total ? (tp + tn) / total : 0,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
  };
}
