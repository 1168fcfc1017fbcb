import { MlInputError } from './errors';
import { seededRandom, shuffle } from './random';

export type Split = {
  /** Row indices, ascending. */
  train: Uint32Array;
  holdout: Uint32Array;
};

/**
 * Splits rows into a training part and a holdout part. With `stratify`, each class is split on its
 * own so both parts keep the class ratio. `rows` restricts the split to a subset (used for the
 * early-stopping validation part inside the training rows); by default every row of `y`.
 */
export function holdoutSplit(
  y: Uint8Array,
  opts: { fraction: number; seed: number; stratify: boolean },
  rows?: Uint32Array,
): Split {
  const all = rows ?? Uint32Array.from({ length: y.length }, (_, i) => i);
  const rng = seededRandom(opts.seed);
  const groups = opts.stratify ? [all.filter((i) => y[i] === 0), all.filter((i) => y[i] === 1)] : [all.slice()];
  const holdout: number[] = [];
  const train: number[] = [];
  for (const group of groups) {
    shuffle(group, rng);
    const k = Math.round(group.length * opts.fraction);
    for (let i = 0; i < group.length; i++) (i < k ? holdout : train).push(group[i]!);
  }
  if (holdout.length === 0 || train.length === 0) {
    throw new MlInputError(`a holdout fraction of ${opts.fraction} leaves one part empty with ${all.length} rows`, 'holdout.fraction');
  }
  return { train: Uint32Array.from(train).sort(), holdout: Uint32Array.from(holdout).sort() };
}
