import { rocAuc } from './metrics';
import { seededRandom, shuffle } from './random';

export type PermutationImportance = {
  /** Holdout rows scored. */
  rows: number;
  repeats: number;
  metric: 'auc';
  /** The model's AUC on these rows as they are. */
  baseline: number;
  /** Per feature, the mean drop in AUC when its values are shuffled across rows (and its standard deviation), largest first. */
  features: { feature: string; meanDrop: number; sd: number }[];
};

/**
 * Permutation importance (Breiman 2001; scikit-learn's `permutation_importance`): for each feature,
 * shuffle its values across the rows (the other features unchanged), score again, and report how
 * much the AUC fell, averaged over `repeats` seeded shuffles. Model-agnostic: `score` is any scorer
 * of records (here onnxruntime on the model's own ONNX file), so it describes what the model uses on
 * rows it did not train on. A feature the model ignores drops by ~0; a negative drop is noise.
 */
export async function permutationImportance(opts: {
  records: readonly Record<string, unknown>[];
  y: ArrayLike<number>;
  features: readonly string[];
  score: (records: readonly Record<string, unknown>[]) => Promise<ArrayLike<number>>;
  repeats?: number;
  seed?: number;
}): Promise<PermutationImportance> {
  const { records, y, features, score } = opts;
  const repeats = opts.repeats ?? 5;
  const rng = seededRandom(opts.seed ?? 42);
  const baseline = rocAuc(y, await score(records));
  const out: PermutationImportance['features'] = [];
  for (const feature of features) {
    const drops: number[] = [];
    for (let k = 0; k < repeats; k++) {
      const order = shuffle(Uint32Array.from(records, (_, i) => i), rng);
      const permuted = records.map((r, i) => ({ ...r, [feature]: records[order[i]!]![feature] }));
      drops.push(baseline - rocAuc(y, await score(permuted)));
    }
    const mean = drops.reduce((a, b) => a + b, 0) / repeats;
    const sd = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, repeats - 1));
    out.push({ feature, meanDrop: mean, sd });
  }
  out.sort((a, b) => b.meanDrop - a.meanDrop);
  return { rows: records.length, repeats, metric: 'auc', baseline, features: out };
}
