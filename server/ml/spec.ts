import { z } from 'zod';

/**
 * What a `train` cell asks for, with every default filled in by `TrainSpec.parse`. Defaults follow
 * scikit-learn (LogisticRegression, HistGradientBoostingClassifier) so quality comparisons are fair.
 */

export const HoldoutSpec = z.object({
  fraction: z.number().gt(0).lt(1).default(0.2),
  seed: z.number().int().default(42),
  stratify: z.boolean().default(true),
});
export type HoldoutSpec = z.infer<typeof HoldoutSpec>;

export const CategoricalSpec = z.object({
  /** Categories kept as their own one-hot column (most frequent first); the rest are grouped. */
  maxCategories: z.number().int().min(1).max(1000).default(50),
  /** Categories seen fewer times than this in training are grouped into one "infrequent" column. */
  minFrequency: z.number().int().min(1).default(5),
});
export type CategoricalSpec = z.infer<typeof CategoricalSpec>;

export const LogisticRegressionParams = z.object({
  /** Inverse regularisation strength, as in scikit-learn: objective = ||w||^2 / 2 + C * sum(log loss). */
  C: z.number().positive().default(1),
  maxIter: z.number().int().min(1).max(10_000).default(100),
  /** Stop when the max-norm of the gradient of the mean objective is below this. */
  tol: z.number().positive().default(1e-8),
  /** 'auto': L-BFGS (as scikit-learn's lbfgs). 'newton': an exact Hessian each iteration (columns squared per row). */
  solver: z.enum(['auto', 'newton', 'lbfgs']).default('auto'),
});
export type LogisticRegressionParams = z.infer<typeof LogisticRegressionParams>;

export const GradientBoostedTreesParams = z.object({
  learningRate: z.number().positive().max(1).default(0.1),
  maxIter: z.number().int().min(1).max(10_000).default(100),
  maxLeafNodes: z.number().int().min(2).nullable().default(31),
  maxDepth: z.number().int().min(1).nullable().default(null),
  minSamplesLeaf: z.number().int().min(1).default(20),
  l2Regularization: z.number().min(0).default(0),
  /** Non-missing bins per feature (missing values get a bin of their own). */
  maxBins: z.number().int().min(2).max(255).default(255),
  /** 'auto': on when the training part has more than 10,000 rows (as scikit-learn). */
  earlyStopping: z.union([z.literal('auto'), z.boolean()]).default('auto'),
  validationFraction: z.number().gt(0).lt(1).default(0.1),
  nIterNoChange: z.number().int().min(1).default(10),
  tol: z.number().min(0).default(1e-7),
});
export type GradientBoostedTreesParams = z.infer<typeof GradientBoostedTreesParams>;

export const algorithmNames = ['logistic_regression', 'gradient_boosted_trees'] as const;

/** At most this many fits in one leaderboard (every algorithm and every grid point). */
export const MAX_LEADERBOARD = 20;

/** A parameter grid: each listed value of each parameter, every combination fitted. */
export const ParamGrid = z
  .record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string(), z.null()])).min(1, 'a grid parameter needs at least one value'))
  .refine((g) => Object.keys(g).length > 0, 'a grid needs at least one parameter');
export type ParamGrid = z.infer<typeof ParamGrid>;

/** Another entry of the leaderboard: an algorithm with its params (checked when expanded), optionally a grid. */
export const CandidateSpec = z
  .object({
    algorithm: z.enum(algorithmNames, { error: `algorithm must be ${algorithmNames.join(' or ')}` }),
    params: z.record(z.string(), z.unknown()).optional(),
    grid: ParamGrid.optional(),
  })
  .strict();
export type CandidateSpec = z.infer<typeof CandidateSpec>;

/** What chooses the leaderboard's winner, on the holdout: highest AUC, or lowest log loss. */
export const LeaderboardMetric = z.enum(['auc', 'log_loss']);
export type LeaderboardMetric = z.infer<typeof LeaderboardMetric>;

const common = {
  target: z.string().min(1),
  /** The positive class, compared with the target's values as strings ("bad", "Yes", "1", "true"). */
  positiveClass: z.string(),
  /** Default: every column but the target, except free-text columns. */
  features: z.array(z.string().min(1)).min(1).optional(),
  holdout: HoldoutSpec.prefault({}),
  /**
   * After the holdout evaluation, fit again on every labelled row and serve that model (the
   * evaluation stays the holdout's). false: serve the model fitted on the training part only.
   */
  refit: z.boolean().default(true),
  categorical: CategoricalSpec.prefault({}),
  /** Decision threshold for accuracy, precision, recall and F1 on the holdout. */
  threshold: z.number().gt(0).lt(1).default(0.5),
  /**
   * A leaderboard (leaderboard.ts): `grid` fits every combination of the listed values of this
   * algorithm's params; `candidates` adds other algorithms (each with params and a grid). All are
   * fitted on the same split; the best by `metric` (default auc) is the version, the others are kept
   * as candidates. No defaults here, so a spec without them parses (and hashes) as before.
   */
  grid: ParamGrid.optional(),
  candidates: z.array(CandidateSpec).min(1).max(MAX_LEADERBOARD).optional(),
  metric: LeaderboardMetric.optional(),
};

export const TrainSpec = z.discriminatedUnion('algorithm', [
  z.object({ ...common, algorithm: z.literal('logistic_regression'), params: LogisticRegressionParams.prefault({}) }),
  z.object({ ...common, algorithm: z.literal('gradient_boosted_trees'), params: GradientBoostedTreesParams.prefault({}) }),
]);
export type TrainSpec = z.infer<typeof TrainSpec>;
export type TrainSpecInput = z.input<typeof TrainSpec>;
export type Algorithm = TrainSpec['algorithm'];

type CandidateAlgorithm = (typeof algorithmNames)[number];
/** The candidates' algorithm list and the union's members must agree (fails to compile otherwise). */
export const candidateAlgorithmsMatch: [Algorithm] extends [CandidateAlgorithm] ? ([CandidateAlgorithm] extends [Algorithm] ? true : never) : never = true;
