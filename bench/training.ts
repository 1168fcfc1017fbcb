/**
 * Training time: `trainModel` (server/ml: split, preprocessing, fit, holdout scoring and evaluation,
 * one thread, the way a build step or the UI trains) for logistic regression and gradient-boosted
 * trees on generated data with 20 features (bench/synthetic.ts: 14 numeric with missing values, 6
 * categorical), at 100k and 1M rows. Prints wall seconds, iterations and holdout AUC (a check that
 * the model learnt something, not a quality figure: bench/ml-quality.ts compares quality with
 * scikit-learn). Gradient boosting runs its default 100 iterations without early stopping, so the
 * work per size is fixed.
 *
 *   npx tsx bench/training.ts [--rows 100000,1000000]
 */
import { trainModel } from '../server/ml/train';
import type { TrainSpecInput } from '../server/ml/spec';
import { syntheticTable, TARGET } from './synthetic';

function rowsArg(): number[] {
  const i = process.argv.indexOf('--rows');
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const sizes = (raw ?? '100000,1000000').split(',').map((s) => Number(s.replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100)) throw new Error(`--rows wants comma-separated row counts >= 100, got "${raw}"`);
  return sizes;
}

const specs: { label: string; spec: TrainSpecInput }[] = [
  { label: 'logistic_regression', spec: { algorithm: 'logistic_regression', target: TARGET, positiveClass: 'yes' } },
  { label: 'gradient_boosted_trees', spec: { algorithm: 'gradient_boosted_trees', target: TARGET, positiveClass: 'yes', params: { maxIter: 100, earlyStopping: false } } },
];

async function main() {
  const sizes = rowsArg();
  console.log('training on generated data: 20 features (14 numeric, 6 categorical), 20% holdout, one thread');
  console.log(`\n| rows | algorithm | seconds | rows/s | iterations | holdout AUC | heap MB |`);
  console.log(`| ---: | --- | ---: | ---: | ---: | ---: | ---: |`);
  for (const rows of sizes) {
    const generated = performance.now();
    const table = syntheticTable(rows, 7);
    const genSeconds = (performance.now() - generated) / 1000;
    for (const { label, spec } of specs) {
      const started = performance.now();
      const result = await trainModel(table, spec);
      const seconds = (performance.now() - started) / 1000;
      const heap = process.memoryUsage().heapUsed / 2 ** 20;
      console.log(
        `| ${rows.toLocaleString('en-US')} | ${label} | ${seconds.toFixed(1)} | ${Math.round(rows / seconds).toLocaleString('en-US')} | ${result.training.iterations} | ${result.evaluation.auc.auc.toFixed(3)} | ${heap.toFixed(0)} |`,
      );
    }
    console.log(`|  | (generating the ${rows.toLocaleString('en-US')} rows in memory: ${genSeconds.toFixed(1)} s, not counted) | | | | | |`);
  }
}

await main();
