import { modelColumns, oneHotWidth, standardisedMatrix } from '../features';
import { fitLogisticRegression, iterationBudget, sigmoid } from '../logistic-regression';
import type { LogisticRegressionParams } from '../spec';
import { ML_DOMAIN, attr, node } from '../onnx/proto';
import type { ModelAlgorithm } from './types';

export type LogisticRegressionEstimator = {
  kind: 'logistic_regression';
  /** One per model column, on standardised numeric features and 0/1 one-hot columns (float32 values). */
  coef: number[];
  intercept: number;
};

export const logisticRegression: ModelAlgorithm<'logistic_regression', LogisticRegressionParams, LogisticRegressionEstimator> = {
  name: 'logistic_regression',
  label: 'Logistic regression',
  async fit({ enc, plan, y, split, params, pace, onProgress }) {
    const { X, d } = standardisedMatrix(enc, plan, split.train);
    const yTrain = Uint8Array.from(split.train, (r) => y[r]!);
    const maxIterations = iterationBudget(params);
    const fit = await fitLogisticRegression(X, yTrain, d, params, {
      onIteration: async (iteration, loss) => {
        onProgress?.({ iteration, loss, maxIterations });
        await pace();
      },
    });
    const estimator = { kind: 'logistic_regression' as const, coef: Array.from(fit.coef, Math.fround), intercept: Math.fround(fit.intercept) };
    return { estimator, iterations: fit.iterations, converged: fit.converged, earlyStopped: false };
  },
  columns: modelColumns,
  predict(est, { numeric, categorical }, enc, rows) {
    const out = new Float64Array(rows.length);
    rows.forEach((r, k) => {
      let z = est.intercept;
      let j = 0;
      for (let f = 0; f < numeric.length; f++, j++) {
        const p = numeric[f]!;
        const x = enc.numeric[f]![r]!;
        z += est.coef[j]! * ((Number.isNaN(x) ? p.median : x) - p.mean) * p.scale;
      }
      for (let f = 0; f < categorical.length; f++) {
        const code = enc.codes[f]![r]!;
        if (code >= 0) z += est.coef[j + code]!;
        j += oneHotWidth(categorical[f]!);
      }
      out[k] = sigmoid(z);
    });
    return out;
  },
  // Exact log-odds terms: coefficient x standardised value (one-hot: the category's coefficient), summed per feature; baseline the intercept.
  explain(est, { numeric, categorical }, enc, row) {
    const contributions = new Float64Array(numeric.length + categorical.length);
    let j = 0;
    for (let f = 0; f < numeric.length; f++, j++) {
      const p = numeric[f]!;
      const x = enc.numeric[f]![row]!;
      contributions[f] = est.coef[j]! * ((Number.isNaN(x) ? p.median : x) - p.mean) * p.scale;
    }
    for (let f = 0; f < categorical.length; f++) {
      const code = enc.codes[f]![row]!;
      if (code >= 0) contributions[numeric.length + f] = est.coef[j + code]!;
      j += oneHotWidth(categorical[f]!);
    }
    return { baseline: est.intercept, contributions };
  },
  // |coefficient| on standardised features (a one-hot column's coefficient is the effect of that category against none of them).
  importance: (est, columns) => Float64Array.from({ length: columns.length }, (_, j) => Math.abs(est.coef[j] ?? 0)),
  onnx: (est) => ({
    standardised: true,
    categorical: 'one-hot',
    opsets: { onnx: 15, ml: 3 },
    // One coefficient row with two class labels: onnxruntime scores the second class and returns
    // probabilities [1 - p, p] after the logistic.
    build: (io) => ({
      nodes: [
        node(
          'LinearClassifier',
          [io.features],
          [io.label, io.probabilities],
          [attr.floats('coefficients', est.coef), attr.floats('intercepts', [est.intercept]), attr.ints('classlabels_ints', [0, 1]), attr.string('post_transform', 'LOGISTIC')],
          ML_DOMAIN,
        ),
      ],
      initializers: [],
    }),
  }),
  form: [
    { key: 'C', label: 'C', hint: 'Inverse regularisation strength (L2).', step: 'any', min: 0 },
    { key: 'maxIter', label: 'Max iterations', hint: 'Optimiser steps (Newton; the default L-BFGS solver may take 10x as many cheaper ones).', min: 1 },
  ],
};
