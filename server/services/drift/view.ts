import type { driftReports } from '@/db/schema';
import type { FeatureDrift } from '@/server/ml/drift-reference';

/** PSI above this is a significant shift (the usual rule of thumb: < 0.1 stable, 0.1 to 0.2 moderate). */
export const DRIFT_PSI_THRESHOLD = 0.2;

export type FeatureDriftView = Omit<FeatureDrift, 'current'>;

/** A stored drift report; timestamps are ISO strings. `version`: null when that version was deleted since. */
export type DriftReportView = {
  id: string;
  computedAt: string;
  windowStart: string;
  windowEnd: string;
  version: number | null;
  rows: number;
  features: FeatureDriftView[];
  maxPsi: number | null;
  predictionPsi: number | null;
  auc: number | null;
  labelledRows: number | null;
  computedBy: string;
};

export function driftReportView(row: typeof driftReports.$inferSelect, version: number | null): DriftReportView {
  return {
    id: row.id,
    computedAt: row.computedAt.toISOString(),
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    version,
    rows: row.rows,
    features: (row.features as unknown as FeatureDrift[]).map(({ current: _current, ...f }) => f),
    maxPsi: row.maxPsi,
    predictionPsi: row.predictionPsi,
    auc: row.auc,
    labelledRows: row.labelledRows,
    computedBy: row.computedBy,
  };
}
