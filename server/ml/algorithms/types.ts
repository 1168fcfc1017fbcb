import type { EncodedFeatures, FeaturePlan, ModelColumn } from '../features';
import type { int64Tensor, node } from '../onnx/proto';
import type { CategoryCodes } from '../onnx/tree-ensemble';
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

/** The tensor names a classifier node reads and writes in the exported graph (onnx/export.ts). */
export type OnnxClassifierIo = {
  features: string;
  label: string;
  probabilities: string;
  /** prefix for the classifier's intermediate tensors */
  prefix: string;
  /** With `categorical: 'code'`: the codes the graph gives categories (categoryCodes), as CategoryCodes. */
  categoryCodes?: CategoryCodes;
};

/** An estimator's part of the exported graph (onnx/export.ts builds the inputs and features before it). */
export type OnnxClassifier = {
  /** Whether it reads the numeric features imputed and standardised (its coefficients are on that scale). */
  standardised: boolean;
  /** How categorical features reach it: one-hot blocks, or one column of category codes each. */
  categorical: 'one-hot' | 'code';
  /** The opsets its nodes need (the default ONNX domain and ai.onnx.ml). */
  opsets: { onnx: number; ml: number };
  /**
   * With `categorical: 'code'`: the code each categorical feature's categories get in the graph
   * (code[j][c] for the category the model knows as c, a permutation of 0..widths[j]-1; categorical
   * feature j is column `first + j` of the features). Absent: the model's own codes.
   */
  categoryCodes?(first: number, widths: number[]): number[][];
  /** Its nodes from the concatenated features to `label` (int64) and `probabilities` [N,2]. */
  build(io: OnnxClassifierIo): { nodes: ReturnType<typeof node>[]; initializers: ReturnType<typeof int64Tensor>[] };
};

/**
 * A parameter the train form offers (the others keep their defaults): a number input named `key`,
 * prefilled with the params schema's default. `nullable`: an empty field sends null ("no limit").
 */
export type ParamField = { key: string; label: string; hint: string; min?: number; step?: 'any'; nullable?: boolean };

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
  /** The ONNX export of a fitted estimator (see OnnxClassifier). */
  onnx(est: E): OnnxClassifier;
  /** The main parameters, in the order the train form shows them. */
  form: readonly ParamField[];
};
