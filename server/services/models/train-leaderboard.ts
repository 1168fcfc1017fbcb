import { bestIndex, expandLeaderboard, isLeaderboard, metricValue } from '@/server/ml/leaderboard';
import type { LeaderboardMetric, TrainSpec } from '@/server/ml/spec';
import { trainModel, type TrainResult } from '@/server/ml/train';
import type { Table, TrainingControl, TrainingProgress } from '@/server/ml/types';

/** Which fit of a leaderboard a progress report is about. */
export type CandidateProgress = { index: number; of: number; label: string };

/** One row of a leaderboard as stored on the winning version (`metrics.leaderboard`). */
export type LeaderboardRow = {
  /** The version this fit was registered as (the winner's own, or a candidate's). */
  version: number;
  algorithm: string;
  label: string;
  params: Record<string, unknown>;
  auc: number;
  logLoss: number;
  seconds: number;
  chosen: boolean;
};
export type Leaderboard = { metric: LeaderboardMetric; holdoutRows: number; rows: LeaderboardRow[] };

export type TrainedFit = { spec: TrainSpec; label: string; result: TrainResult };
/** The served fit and, for a leaderboard, the others (fitted on the training part, kept as candidates). */
export type TrainedLeaderboard = { winner: TrainedFit; candidates: TrainedFit[]; metric: LeaderboardMetric; leaderboard: boolean };

/**
 * Trains what a spec asks: one fit, or every entry of its leaderboard on the same split (the split
 * is a function of the labels and `holdout`, which all entries share), each evaluated on the holdout
 * without a refit; the best by the metric is then fitted again as its spec says (refit on every
 * labelled row by default) and served. The others are returned as candidates.
 */
export async function trainLeaderboard(
  table: Table,
  spec: TrainSpec,
  control: { signal?: AbortSignal; onProgress: (p: TrainingProgress, candidate?: CandidateProgress) => void },
): Promise<TrainedLeaderboard> {
  const metric = spec.metric ?? 'auc';
  const ctl = (candidate?: CandidateProgress): TrainingControl => ({ ...(control.signal ? { signal: control.signal } : {}), onProgress: (p) => control.onProgress(p, candidate) });
  if (!isLeaderboard(spec)) return { winner: { spec, label: spec.algorithm, result: await trainModel(table, spec, ctl()) }, candidates: [], metric, leaderboard: false };
  const entries = expandLeaderboard(spec);
  const fits: TrainedFit[] = [];
  for (const [index, entry] of entries.entries()) {
    const result = await trainModel(table, { ...entry.spec, refit: false }, ctl({ index, of: entries.length + (entry.spec.refit ? 1 : 0), label: entry.label }));
    fits.push({ spec: entry.spec, label: entry.label, result });
  }
  const best = bestIndex(metric, fits.map((f) => f.result.evaluation));
  const chosen = fits[best]!;
  const served = chosen.spec.refit ? await trainModel(table, chosen.spec, ctl({ index: entries.length, of: entries.length + 1, label: `${chosen.label} (refit on every row)` })) : chosen.result;
  return { winner: { ...chosen, result: served }, candidates: fits.filter((_, i) => i !== best), metric, leaderboard: true };
}

/** The leaderboard stored on the winner, once every fit has its version number. */
export function leaderboardOf(trained: TrainedLeaderboard, winnerVersion: number, candidateVersions: number[]): Leaderboard {
  const row = (fit: TrainedFit, version: number, chosen: boolean): LeaderboardRow => ({
    version,
    algorithm: fit.spec.algorithm,
    label: fit.label,
    params: fit.spec.params as Record<string, unknown>,
    auc: fit.result.evaluation.auc.auc,
    logLoss: fit.result.evaluation.logLoss,
    seconds: fit.result.training.seconds,
    chosen,
  });
  const rows = [row(trained.winner, winnerVersion, true), ...trained.candidates.map((c, i) => row(c, candidateVersions[i]!, false))];
  const sign = trained.metric === 'auc' ? -1 : 1;
  rows.sort((a, b) => sign * (metricValue(trained.metric, asEval(a)) - metricValue(trained.metric, asEval(b))) || a.version - b.version);
  return { metric: trained.metric, holdoutRows: trained.winner.result.evaluation.rows, rows };
}

const asEval = (r: LeaderboardRow) => ({ auc: { auc: r.auc }, logLoss: r.logLoss }) as Parameters<typeof metricValue>[1];
