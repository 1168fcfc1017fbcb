'use client';

import Link from 'next/link';
import { formatMetric } from './format';
import { modelHref } from './types';

export type LeaderboardRow = { version: number; label: string; auc: number; logLoss: number; chosen: boolean };

const metricLabels: Record<string, string> = { auc: 'AUC', log_loss: 'log loss' };

/**
 * A training's leaderboard, best first: every fit on the same holdout, the chosen one (the version)
 * and its candidates (kept, never champions). Shown on the model page and under a train cell.
 */
export function LeaderboardTable({ projectId, model, metric, rows, current }: { projectId: string; model: string; metric: string; rows: LeaderboardRow[]; current?: number }) {
  return (
    <div className="table-scroll">
      <table className="table leaderboard-table" aria-label={`Leaderboard of ${model}, best by ${metricLabels[metric] ?? metric}`}>
        <thead>
          <tr>
            <th>#</th>
            <th>Version</th>
            <th>Fit</th>
            <th className="align-right">AUC</th>
            <th className="align-right">Log loss</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.version} className={r.version === current ? 'version-selected' : undefined} data-version={r.version}>
              <td className="tabular">{i + 1}</td>
              <td>
                <Link href={modelHref(projectId, model, r.version)}>v{r.version}</Link>
              </td>
              <td>
                <code>{r.label}</code>
              </td>
              <td className={`align-right tabular${metric === 'auc' ? ' strong' : ''}`}>{formatMetric(r.auc)}</td>
              <td className={`align-right tabular${metric === 'log_loss' ? ' strong' : ''}`}>{formatMetric(r.logLoss)}</td>
              <td>{r.chosen ? <span className="badge badge-champion">chosen</span> : <span className="badge badge-source">candidate</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export const leaderboardDescription = (metric: string, holdoutRows?: number) =>
  `Every fit on the same split, ranked by holdout ${metricLabels[metric] ?? metric}${holdoutRows ? ` (${holdoutRows.toLocaleString()} rows)` : ''}. The best is the version; the others are kept as candidates and never become champions.`;
