import { type Algorithm, TrainSpec } from '../spec';
import { gradientBoostedTrees } from './gradient-boosted-trees';
import { logisticRegression } from './logistic-regression';
import type { ModelAlgorithm, ParamField } from './types';

export type { BoostedTreesEstimator } from './gradient-boosted-trees';
export type { LogisticRegressionEstimator } from './logistic-regression';
export type { FitInput, Fitted, ModelAlgorithm, OnnxClassifier, OnnxClassifierIo, ParamField, RowExplanation } from './types';

type ParamsOf<K extends Algorithm> = Extract<TrainSpec, { algorithm: K }>['params'];

/**
 * The model kinds, one entry per `algorithm` of spec.ts's TrainSpec union: the mapped type makes a
 * new union member fail to compile until it is registered here.
 */
export const ALGORITHMS = {
  logistic_regression: logisticRegression,
  gradient_boosted_trees: gradientBoostedTrees,
} satisfies { [K in Algorithm]: ModelAlgorithm<K, ParamsOf<K>, { kind: K }> };

type EstimatorOf<A> = A extends ModelAlgorithm<string, unknown, infer E> ? E : never;
/** What a trained model holds besides its preprocessing: one member per registered algorithm. */
export type Estimator = { [K in Algorithm]: EstimatorOf<(typeof ALGORITHMS)[K]> }[Algorithm];

type AnyAlgorithm = ModelAlgorithm<Algorithm, unknown, Estimator>;
/**
 * The registry entry for a kind. The `satisfies` above ties each kind to an entry whose params and
 * estimator are that kind's, so widening to AnyAlgorithm is sound for a matching (kind, value) pair.
 */
export const algorithmOf = (kind: Algorithm): AnyAlgorithm => ALGORITHMS[kind] as unknown as AnyAlgorithm;

/** A model kind as the UI offers it: its label, the form's parameters and their defaults. */
export type AlgorithmListing = { name: Algorithm; label: string; form: readonly ParamField[]; defaults: Record<string, unknown> };

/** The algorithms in the order the UI lists them (registry order), for the train form and labels. */
export const ALGORITHM_LIST: readonly AlgorithmListing[] = Object.values(ALGORITHMS).map(({ name, label, form }) => ({
  name,
  label,
  form,
  defaults: TrainSpec.parse({ algorithm: name, target: 'target', positiveClass: 'positive' }).params,
}));
