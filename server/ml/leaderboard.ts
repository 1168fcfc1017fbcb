import { MlInputError } from './errors';
import { MAX_LEADERBOARD, type ParamGrid, TrainSpec, type LeaderboardMetric } from './spec';
import type { Evaluation } from './evaluate';

/** One entry of a leaderboard: a full spec without leaderboard fields, and where it came from. */
export type LeaderboardEntrySpec = { spec: TrainSpec; label: string; path: string };

/** Whether a spec asks for a leaderboard (a grid or other candidates). */
export const isLeaderboard = (spec: TrainSpec): boolean => spec.grid !== undefined || spec.candidates !== undefined;

function combinations(grid: ParamGrid | undefined): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(grid ?? {})) out = out.flatMap((combo) => values.map((v) => ({ ...combo, [key]: v })));
  return out;
}

/**
 * The specs a leaderboard fits, the main algorithm's first (every point of its grid), then each
 * candidate's. Each is checked as a full TrainSpec, so a bad value names its place
 * (`candidates.1.grid.C`). More than MAX_LEADERBOARD fits, or the same fit twice, is a user error.
 */
export function expandLeaderboard(spec: TrainSpec): LeaderboardEntrySpec[] {
  const { grid, candidates, metric: _metric, algorithm, params, ...shared } = spec;
  const sources = [
    { algorithm, params: params as Record<string, unknown>, grid, path: '' },
    ...(candidates ?? []).map((c, i) => ({ algorithm: c.algorithm, params: c.params ?? {}, grid: c.grid, path: `candidates.${i}.` })),
  ];
  const total = sources.reduce((n, s) => n + combinations(s.grid).length, 0);
  if (total > MAX_LEADERBOARD) throw new MlInputError(`the leaderboard has ${total} fits (algorithms x grid points); at most ${MAX_LEADERBOARD}`, 'candidates');
  const out: LeaderboardEntrySpec[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    for (const combo of combinations(source.grid)) {
      const parsed = TrainSpec.safeParse({ ...shared, algorithm: source.algorithm, params: { ...source.params, ...combo } });
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const key = issue.path[0] === 'params' && typeof issue.path[1] === 'string' && issue.path[1] in combo ? `grid.${issue.path[1]}` : issue.path.join('.');
        throw new MlInputError(`train spec: ${source.path}${key}: ${issue.message}`, `${source.path}${key}`);
      }
      const label = [source.algorithm, ...Object.entries(combo).map(([k, v]) => `${k}=${String(v)}`)].join(' ');
      const key = JSON.stringify([parsed.data.algorithm, parsed.data.params]);
      if (seen.has(key)) throw new MlInputError(`the leaderboard fits "${label}" twice`, `${source.path || ''}grid`);
      seen.add(key);
      out.push({ spec: parsed.data, label, path: source.path });
    }
  }
  return out;
}

/** The metric's value on an evaluation, and whether a is better than b (ties keep the earlier entry). */
export const metricValue = (metric: LeaderboardMetric, e: Evaluation): number => (metric === 'auc' ? e.auc.auc : e.logLoss);
export const better = (metric: LeaderboardMetric, a: number, b: number): boolean => (metric === 'auc' ? a > b : a < b);

/** The index of the best evaluation by the metric (the first of equals). */
export function bestIndex(metric: LeaderboardMetric, evaluations: readonly Evaluation[]): number {
  let best = 0;
  for (let i = 1; i < evaluations.length; i++) if (better(metric, metricValue(metric, evaluations[i]!), metricValue(metric, evaluations[best]!))) best = i;
  return best;
}
