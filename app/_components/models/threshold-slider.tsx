'use client';

import { formatCount, formatMetric, formatShare } from './format';
import type { OperatingPoint } from './operating-points';

const formatThreshold = (t: number) => (Math.abs(t) >= 0.001 || t === 0 ? t.toFixed(4).replace(/0+$/, '').replace(/\.$/, '') : t.toExponential(2));

/**
 * A decision threshold over the holdout: the slider steps through the thresholds the stored
 * evaluation holds (one per distinct holdout score, up to 200), each with its exact confusion matrix.
 */
export function ThresholdSlider({ points, index, onChange, rows }: { points: OperatingPoint[]; index: number; onChange: (index: number) => void; rows: number }) {
  const p = points[index];
  if (!p) return null;
  const flagged = p.truePositives + p.falsePositives;
  const tiles = [
    { label: 'Precision', value: formatShare(p.precision), note: `${formatCount(p.truePositives)} of ${formatCount(flagged)} flagged` },
    { label: 'Recall', value: formatShare(p.recall), note: `${formatCount(p.truePositives)} of ${formatCount(p.truePositives + p.falseNegatives)} positives` },
    { label: 'F1', value: formatMetric(p.f1), note: 'harmonic mean of the two' },
    { label: 'Accuracy', value: formatShare(p.accuracy), note: `${formatShare(rows ? flagged / rows : null)} of rows flagged` },
  ];
  return (
    <div className="threshold-explorer" data-testid="threshold-explorer">
      <label className="threshold-slider">
        <span>
          Threshold <strong className="tabular" data-testid="threshold-value">{formatThreshold(p.threshold)}</strong>
          <span className="muted"> — flag a row as positive when its probability is at least this</span>
        </span>
        <input type="range" min={0} max={points.length - 1} step={1} value={index} onChange={(e) => onChange(Number(e.target.value))} aria-label="Decision threshold" aria-valuetext={formatThreshold(p.threshold)} />
        <span className="threshold-scale muted">
          <span>{formatThreshold(points[0]!.threshold)} (flag more)</span>
          <span>
            {points.length} thresholds from the holdout scores
          </span>
          <span>(flag fewer) {formatThreshold(points.at(-1)!.threshold)}</span>
        </span>
      </label>
      <div className="threshold-body">
        <table className="table confusion-matrix" aria-label="Confusion matrix at the threshold">
          <thead>
            <tr>
              <th />
              <th className="align-right">Predicted positive</th>
              <th className="align-right">Predicted negative</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th>Actual positive</th>
              <td className="align-right tabular" data-cell="tp">{formatCount(p.truePositives)}</td>
              <td className="align-right tabular" data-cell="fn">{formatCount(p.falseNegatives)}</td>
            </tr>
            <tr>
              <th>Actual negative</th>
              <td className="align-right tabular" data-cell="fp">{formatCount(p.falsePositives)}</td>
              <td className="align-right tabular" data-cell="tn">{formatCount(p.trueNegatives)}</td>
            </tr>
          </tbody>
        </table>
        <div className="metric-tiles threshold-tiles" aria-label="Metrics at the threshold">
          {tiles.map((m) => (
            <div key={m.label} className="metric-tile" data-threshold-metric={m.label}>
              <div className="metric-tile-label">{m.label}</div>
              <div className="metric-tile-value">{m.value}</div>
              <div className="metric-tile-note">{m.note}</div>
            </div>
          ))}
        </div>
      </div>
      <p className="hint">
        An endpoint labels by a threshold when it has one: set it on the endpoint page (design endpoints) or with <code>threshold: {formatThreshold(p.threshold)}</code> in the endpoint cell.
      </p>
    </div>
  );
}
