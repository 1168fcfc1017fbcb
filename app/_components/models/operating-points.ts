import { confusionMetrics, type ThresholdMetrics } from '@/server/domain/confusion';

/**
 * The decision thresholds a version's stored holdout evaluation allows, each with its exact
 * confusion matrix. The stored ROC curve has one point per distinct holdout score t (thinned to at
 * most 200), counting the rows with p >= t as flagged: so at each point the counts below are what
 * thresholding the holdout at t gives, with no approximation.
 */
export type OperatingPoint = ThresholdMetrics;

type RocLike = { fpr: number; tpr: number; threshold: number | null };

/** Operating points by rising threshold. The first ROC point (threshold +Infinity, stored as null: nothing flagged) is left out. */
export function operatingPoints(evaluation: { rows: number; positives: number; roc: RocLike[] }): OperatingPoint[] {
  const positives = evaluation.positives;
  const negatives = evaluation.rows - positives;
  return evaluation.roc
    .filter((p): p is RocLike & { threshold: number } => typeof p.threshold === 'number' && Number.isFinite(p.threshold))
    .map((p) => {
      const tp = Math.round(p.tpr * positives);
      const fp = Math.round(p.fpr * negatives);
      return confusionMetrics(p.threshold, tp, fp, negatives - fp, positives - tp);
    })
    .sort((a, b) => a.threshold - b.threshold);
}

/** The index of the point a threshold falls on: the lowest stored threshold at or above it (else the highest). */
export function pointAt(points: OperatingPoint[], threshold: number): number {
  const i = points.findIndex((p) => p.threshold >= threshold);
  return i === -1 ? points.length - 1 : i;
}
