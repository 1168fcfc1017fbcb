import { describe, expect, it } from 'vitest';
import { ALGORITHM_LIST, ALGORITHMS } from '@/server/ml/algorithms';
import { parseTrainCell } from '@/server/pipeline/model-cells';

// What the train form offered before it read the registry (scikit-learn's defaults): the listing must keep them.
const formerForm = {
  logistic_regression: { label: 'Logistic regression', fields: { C: 1, maxIter: 100 } },
  gradient_boosted_trees: { label: 'Gradient-boosted trees', fields: { learningRate: 0.1, maxIter: 100, maxLeafNodes: 31, maxDepth: null, minSamplesLeaf: 20 } },
} as const;

const trainCell = (algorithm: string) => `model: m\ndataset: d\ntarget: y\npositiveClass: "1"\nalgorithm: ${algorithm}\n`;

describe('the model kind registry feeds the train cell, the train form and the labels', () => {
  it('lists every registered kind, in registry order, with the label and the form fields and defaults the UI shows', () => {
    expect(ALGORITHM_LIST.map((a) => a.name)).toEqual(Object.keys(ALGORITHMS));
    for (const a of ALGORITHM_LIST) {
      if (!(a.name in formerForm)) continue; // a kind added since: its own tests say what it offers
      const expected = formerForm[a.name as keyof typeof formerForm];
      expect(a.label).toBe(expected.label);
      expect(Object.fromEntries(a.form.map((f) => [f.key, a.defaults[f.key]]))).toEqual(expected.fields);
    }
  });

  it('offers only parameters the kind has (a form field naming no parameter would be dropped silently)', () => {
    for (const a of ALGORITHM_LIST) for (const f of a.form) expect(Object.keys(a.defaults), `${a.name}.${f.key}`).toContain(f.key);
  });

  it('a train cell accepts every listed kind and names them all when the algorithm is unknown', () => {
    for (const a of ALGORITHM_LIST) expect(parseTrainCell(trainCell(a.name)).problems).toEqual([]);
    const wrong = parseTrainCell(trainCell('random_forest')).problems;
    expect(wrong).toHaveLength(1);
    for (const a of ALGORITHM_LIST) expect(wrong[0]!.message).toContain(a.name);
  });
});
