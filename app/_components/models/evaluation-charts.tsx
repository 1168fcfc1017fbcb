'use client';

import { Bar, BarChart, CartesianGrid, Line, LineChart, ReferenceDot, ReferenceLine, ResponsiveContainer, Scatter, ComposedChart, Tooltip, XAxis, YAxis } from 'recharts';
import { formatAuc, formatCount, formatMetric, formatShare } from './format';
import type { Evaluation } from './types';

const tick = { fontSize: 11, fill: '#71717a' };
const ACCENT = '#4f46e5';
const DIAGONAL = '#a1a1aa';
const HEIGHT = 240;
const MAX_IMPORTANCE_BARS = 12;

/** Metrics at a glance: AUC with its interval, log loss, and the threshold metrics. */
export function MetricTiles({ evaluation }: { evaluation: Evaluation }) {
  const t = evaluation.atThreshold;
  const tiles = [
    { label: 'AUC', value: formatMetric(evaluation.auc.auc), note: `95% CI ${formatMetric(evaluation.auc.lower)}–${formatMetric(evaluation.auc.upper)}` },
    { label: 'Log loss', value: formatMetric(evaluation.logLoss), note: 'lower is better' },
    { label: 'Accuracy', value: formatShare(t.accuracy), note: `at threshold ${t.threshold}` },
    { label: 'Precision', value: formatShare(t.precision), note: `${formatCount(t.truePositives)} of ${formatCount(t.truePositives + t.falsePositives)} flagged` },
    { label: 'Recall', value: formatShare(t.recall), note: `${formatCount(t.truePositives)} of ${formatCount(t.truePositives + t.falseNegatives)} positives` },
    { label: 'Holdout', value: formatCount(evaluation.rows), note: `${formatCount(evaluation.positives)} positive (${formatShare(evaluation.rows ? evaluation.positives / evaluation.rows : null)})` },
  ];
  return (
    <div className="metric-tiles" aria-label="Holdout metrics">
      {tiles.map((m) => (
        <div key={m.label} className="metric-tile" data-metric={m.label}>
          <div className="metric-tile-label">{m.label}</div>
          <div className="metric-tile-value">{m.value}</div>
          <div className="metric-tile-note">{m.note}</div>
        </div>
      ))}
    </div>
  );
}

/** ROC curve (with the chosen threshold's point), calibration curve and feature importance of one version, on its holdout. */
export function EvaluationCharts({ evaluation, operatingPoint }: { evaluation: Evaluation; operatingPoint?: { fpr: number; tpr: number } | null }) {
  const roc = evaluation.roc.map((p) => ({ fpr: p.fpr, tpr: p.tpr }));
  const calibration = evaluation.calibration.filter((b) => b.meanPredicted !== null && b.fractionPositive !== null).map((b) => ({ predicted: b.meanPredicted!, observed: b.fractionPositive!, count: b.count }));
  const all = importanceOf(evaluation);
  const importance = all.slice(0, MAX_IMPORTANCE_BARS);
  const byContribution = evaluation.contributionImportance !== undefined;
  const percentTick = (v: number) => `${Math.round(v * 100)}%`;
  const importanceTicks = niceShareTicks(importance[0]?.importance ?? 1);

  return (
    <div className="eval-charts">
      <figure className="model-chart" aria-label="ROC curve" data-testid="roc-chart">
        <figcaption>ROC curve</figcaption>
        <div className="chart-note">True positive rate against false positive rate, over all thresholds. AUC {formatAuc(evaluation.auc)}; the diagonal is a coin toss.</div>
        <ResponsiveContainer width="100%" height={HEIGHT}>
          <LineChart data={roc} margin={{ top: 8, right: 12, bottom: 16, left: 0 }}>
            <CartesianGrid stroke="#f4f4f5" />
            <XAxis dataKey="fpr" type="number" domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tick={tick} tickFormatter={percentTick} label={{ value: 'false positive rate', position: 'insideBottom', offset: -8, fontSize: 11, fill: '#71717a' }} />
            <YAxis dataKey="tpr" type="number" domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tick={tick} tickFormatter={percentTick} width={40} />
            <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke={DIAGONAL} strokeDasharray="4 4" ifOverflow="extendDomain" />
            <Tooltip formatter={(v) => formatShare(Number(v))} labelFormatter={(l) => `false positive rate ${formatShare(Number(l))}`} />
            <Line type="linear" dataKey="tpr" name="true positive rate" stroke={ACCENT} strokeWidth={2} dot={false} isAnimationActive={false} />
            {operatingPoint && <ReferenceDot x={operatingPoint.fpr} y={operatingPoint.tpr} r={5} fill="#f59e0b" stroke="#fff" strokeWidth={2} ifOverflow="extendDomain" />}
          </LineChart>
        </ResponsiveContainer>
      </figure>

      <figure className="model-chart" aria-label="Calibration curve" data-testid="calibration-chart">
        <figcaption>Calibration</figcaption>
        <div className="chart-note">Observed share of positives against the predicted probability, per bin of predictions; the diagonal is perfect calibration.</div>
        <ResponsiveContainer width="100%" height={HEIGHT}>
          <ComposedChart data={calibration} margin={{ top: 8, right: 12, bottom: 16, left: 0 }}>
            <CartesianGrid stroke="#f4f4f5" />
            <XAxis dataKey="predicted" type="number" domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tick={tick} tickFormatter={percentTick} label={{ value: 'predicted', position: 'insideBottom', offset: -8, fontSize: 11, fill: '#71717a' }} />
            <YAxis dataKey="observed" type="number" domain={[0, 1]} ticks={[0, 0.25, 0.5, 0.75, 1]} tick={tick} tickFormatter={percentTick} width={40} />
            <ReferenceLine segment={[{ x: 0, y: 0 }, { x: 1, y: 1 }]} stroke={DIAGONAL} strokeDasharray="4 4" ifOverflow="extendDomain" />
            <Tooltip formatter={(v, n) => [formatShare(Number(v)), String(n)]} labelFormatter={(l) => `predicted ${formatShare(Number(l))}`} />
            <Line type="linear" dataKey="observed" name="observed" stroke={ACCENT} strokeWidth={2} dot={false} isAnimationActive={false} />
            <Scatter dataKey="observed" name="bin" fill={ACCENT} isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      </figure>

      <figure className="model-chart" aria-label="Feature importance" data-testid="importance-chart">
        <figcaption>Feature importance</figcaption>
        {importance.length === 0 || !(importance[0]!.importance > 0) ? (
          <div className="chart-note" data-testid="importance-none">
            {noImportanceReason(evaluation)}
          </div>
        ) : (
          <>
            <div className="chart-note">
              {byContribution
                ? `Mean |contribution| to the log-odds over ${formatCount(evaluation.contributionImportance!.rows)} holdout rows (the values predict returns with "explain": true), as a share of the total`
                : evaluation.permutationImportance
                  ? `Permutation importance: how much the holdout AUC (${evaluation.permutationImportance.baseline.toFixed(3)}) drops when a feature's values are shuffled, over ${formatCount(evaluation.permutationImportance.rows)} holdout rows and ${evaluation.permutationImportance.repeats} shuffles, scored by onnxruntime with the copy fitted on the training part; as a share of the total drop`
                  : "Share of the model's total"}
              {all.length > MAX_IMPORTANCE_BARS ? ` (top ${MAX_IMPORTANCE_BARS} of ${all.length})` : ''}.
            </div>
            <ResponsiveContainer width="100%" height={Math.max(HEIGHT, importance.length * 20 + 30)}>
              <BarChart data={importance} layout="vertical" margin={{ top: 4, right: 16, bottom: 4, left: 4 }}>
                <CartesianGrid stroke="#f4f4f5" horizontal={false} />
                <XAxis type="number" domain={[0, importanceTicks.at(-1)!]} ticks={importanceTicks} tick={tick} tickFormatter={percentTick} />
                <YAxis type="category" dataKey="feature" tick={tick} width={90} interval={0} />
                <Tooltip
                  formatter={(v, _name, item) => {
                    const raw = (item.payload as { meanAbsContribution?: number }).meanAbsContribution;
                    return [raw === undefined ? formatShare(Number(v)) : `${formatShare(Number(v))} (mean |contribution| ${raw.toFixed(3)})`, 'importance'];
                  }}
                />
                <Bar dataKey="importance" fill={ACCENT} radius={[0, 3, 3, 0]} isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </>
        )}
      </figure>
    </div>
  );
}

/** Why a version has no importance bars, in words (instead of an empty chart). */
function noImportanceReason(evaluation: Evaluation): string {
  if (evaluation.permutationImportance) return `No feature changes the holdout AUC when its values are shuffled (${formatCount(evaluation.permutationImportance.rows)} holdout rows, ${evaluation.permutationImportance.repeats} shuffles): the model ranks these rows the same whatever any one feature says.`;
  if (evaluation.featureImportance.length > 0 || evaluation.contributionImportance) return 'Every feature has zero importance in this model: it scores every row alike.';
  return 'No importance for this version: it was registered from a Python cell before Stagebook computed permutation importance on the holdout (the cell only reported its holdout scores). Run the cell again to register a version with it.';
}

/**
 * Per feature, its share of the total: from mean |contribution| (explanations) when the version has
 * them, else the algorithm's own importance (split gain, |coefficient|) of older versions.
 */
function importanceOf(evaluation: Evaluation): { feature: string; importance: number; meanAbsContribution?: number }[] {
  const c = evaluation.contributionImportance;
  if (!c) return evaluation.featureImportance;
  const total = c.features.reduce((a, f) => a + f.meanAbsContribution, 0);
  return c.features.map((f) => ({ feature: f.feature, importance: total > 0 ? f.meanAbsContribution / total : 0, meanAbsContribution: f.meanAbsContribution }));
}

/** 0, step, 2 step, ... up to the first multiple of step at or above max (step 5%, 10% or 20%). */
function niceShareTicks(max: number): number[] {
  const step = max <= 0.3 ? 0.05 : max <= 0.6 ? 0.1 : 0.2;
  const top = Math.min(1, Math.max(step, Math.ceil(max / step - 1e-9) * step));
  const ticks: number[] = [];
  for (let t = 0; t <= top + 1e-9; t += step) ticks.push(Math.round(t * 100) / 100);
  return ticks;
}
