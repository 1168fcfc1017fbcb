import type { EncodedFeatures, FeaturePlan, ModelColumn } from '../features';
import type { Split } from '../split';
import type { TrainingControl } from '../types';

/** What train.ts hands an algorithm: the encoded table, its split and the algorithm's own params. */
export type FitInput<P> = {
  enc: EncodedFeatures;
  plan: FeaturePlan;
  /** Rows in the table (the encoded columns' length). */
  rows: number;
  /** 0/1 target per row (MISSING_TARGET rows are in neither part of the split). */
  y: Uint8Array;
  split: Split;
  params: P;
  seed: number;
  pace: () => Promise<void>;
  onProgress: TrainingControl['onProgress'];
};

export type RowExplanation = { baseline: number; contributions: Float64Array };

export type Fitted<E> = { estimator: E; iterations: number; converged: boolean; earlyStopped: boolean };

/**
 * One kind of model (see README "How to add a model kind"). Its params schema lives in spec.ts's
 * TrainSpec union; the registry (index.ts) ties each `algorithm` of that union to one of these.
 */
export type ModelAlgorithm<K extends string, P, E extends { kind: K }> = {
  name: K;
  /** What the UI calls it. */
  label: string;
  fit(input: FitInput<P>): Promise<Fitted<E>>;
  /** The estimator's input columns (what `importance` is per): one-hot blocks, or one per raw feature. */
  columns(plan: FeaturePlan): ModelColumn[];
  /** Positive-class probability of each of `rows`. */
  predict(est: E, features: FeaturePlan, enc: EncodedFeatures, rows: Uint32Array): Float64Array;
  /**
   * Each raw feature's contribution to one row's log-odds margin (plan order: numeric features,
   * then categorical), exact: baseline + sum(contributions) is the model's margin for the row.
   */
  explain(est: E, features: FeaturePlan, enc: EncodedFeatures, row: number): RowExplanation;
  /** An unnormalised importance per model column (evaluate.ts sums them per feature). */
  importance(est: E, columns: readonly ModelColumn[]): Float64Array;
};
