/**
 * ML quality and speed: our logistic regression and gradient-boosted trees against scikit-learn's
 * LogisticRegression and HistGradientBoostingClassifier on the same split of the same data, with
 * the same preprocessing (median imputation + standardisation + one-hot; scikit-learn's trees split
 * categories natively, the reference for ours). Both
 * sides train on the whole training split (ours: `trainModel` with its defaults, i.e. its own inner
 * holdout evaluation and then the refit on every training row) and are scored on the test split.
 * Data: the two shared sets and four generated ones (bench/quality-sets.ts: numeric-heavy,
 * categorical-heavy, 5% positives, 500 rows).
 *
 * Goal: |test AUC difference| <= 0.01 per dataset and algorithm (exit code 1 otherwise).
 * Also, in the same run: training seconds (ours vs scikit-learn's fit) and single-record ONNX
 * scoring latency through our `predict` (validation + tensors + run) against a bare `session.run`
 * on prebuilt tensors.
 *
 * `npx tsx bench/ml-quality.ts` (or `npm run bench ml-quality`). The Python side
 * (bench/ml-quality.py) creates its venv under bench/.out/ on first use (~30 s).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import * as ort from 'onnxruntime-node';
import { type AucWithInterval, aucWithInterval } from '../server/ml/metrics';
import { predictProba } from '../server/ml/model';
import { exportOnnx } from '../server/ml/onnx/export';
import { type Split, holdoutSplit } from '../server/ml/split';
import { MISSING_TARGET, targetVector } from '../server/ml/table';
import { CategoricalSpec, type TrainSpecInput } from '../server/ml/spec';
import { inferSchema } from '../server/ml/table';
import { generateCsv, generatedSpecs } from './quality-sets';
import { type TrainResult, trainModel } from '../server/ml/train';
import type { CellValue, Table } from '../server/ml/types';
import { SessionCache, predict } from '../server/scoring/session-cache';

const repoRoot = path.resolve(import.meta.dirname, '..');
const outDir = path.join(repoRoot, 'bench/.out/ml-quality');
const dataFile = (name: string) => {
  const sibling = path.resolve(repoRoot, '../shared/data', name);
  return existsSync(sibling) ? sibling : path.join('/work/shared/data', name);
};
const MISSING = ['NA', ''];
const datasets = [
  { name: 'credit_data', csv: dataFile('credit_data.csv'), target: 'Status', positive: 'bad' },
  { name: 'wa_churn', csv: dataFile('wa_churn.csv'), target: 'churn', positive: 'Yes' },
  ...generatedSpecs.map((g) => ({ name: `${g.name} (${g.kind})`, csv: path.join(outDir, `${g.name}.csv`), target: 'target', positive: 'yes' })),
];
const algorithms = ['logistic_regression', 'gradient_boosted_trees'] as const;
const holdout = { fraction: 0.2, seed: 42, stratify: true };

function loadCsv(file: string): Table {
  const rows = parse(readFileSync(file, 'utf8')) as string[][];
  const header = rows.shift()!;
  const columns: Record<string, CellValue[]> = Object.fromEntries(header.map((h) => [h, []]));
  for (const row of rows) {
    header.forEach((h, j) => {
      const v = row[j] ?? '';
      columns[h]!.push(MISSING.includes(v) ? null : v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v);
    });
  }
  return { columns, schema: inferSchema(columns) };
}

type Ours = TrainResult & { testProbabilities: Float64Array; testAuc: AucWithInterval };
type Fitted = { dataset: (typeof datasets)[number]; table: Table; split: Split; results: Record<(typeof algorithms)[number], Ours> };

/** The rows of a table, as a table. */
const subset = (table: Table, rows: Uint32Array): Table => ({
  schema: table.schema,
  columns: Object.fromEntries(Object.entries(table.columns).map(([name, values]) => [name, Array.from(rows, (r) => values[r] ?? null)])),
});

async function main() {
  mkdirSync(outDir, { recursive: true });
  for (const g of generatedSpecs) writeFileSync(path.join(outDir, `${g.name}.csv`), generateCsv(g));
  const fitted: Fitted[] = [];
  for (const dataset of datasets) {
    const table = loadCsv(dataset.csv);
    const { y } = targetVector(table, dataset.target, dataset.positive);
    const labelled = Uint32Array.from({ length: y.length }, (_, i) => i).filter((i) => y[i] !== MISSING_TARGET);
    const split = holdoutSplit(y, holdout, labelled);
    const trainTable = subset(table, split.train);
    const testTable = subset(table, split.holdout);
    const yTest = Uint8Array.from(split.holdout, (r) => y[r]!);
    const results = {} as Fitted['results'];
    for (const algorithm of algorithms) {
      const spec: TrainSpecInput = { algorithm, target: dataset.target, positiveClass: dataset.positive };
      const result = await trainModel(trainTable, spec);
      const testProbabilities = predictProba(result.model, testTable);
      results[algorithm] = { ...result, testProbabilities, testAuc: aucWithInterval(yTest, testProbabilities) };
    }
    fitted.push({ dataset, table, split, results });
  }

  const job = {
    datasets: fitted.map(({ dataset, split, results }) => {
      const lr = results.logistic_regression;
      return {
        ...dataset,
        missing: MISSING,
        numeric: lr.model.features.numeric.map((f) => f.name),
        categorical: lr.model.features.categorical.map((f) => f.name),
        categoricalSpec: CategoricalSpec.parse({}),
        train: Array.from(split.train),
        test: Array.from(split.holdout),
        ours: Object.fromEntries(algorithms.map((a) => [a, Array.from(results[a].testProbabilities)])),
      };
    }),
  };
  const jobFile = path.join(outDir, 'job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  // One thread for scikit-learn too (its trees use OpenMP): our training runs on one core.
  const py = spawnSync('python3', [path.join(repoRoot, 'bench/ml-quality.py'), jobFile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  if (py.status !== 0) throw new Error(`bench/ml-quality.py failed (exit ${py.status})`);
  const sk = JSON.parse(py.stdout) as {
    datasets: { name: string; sklearn: Record<string, { auc: number; fitSeconds: number }>; oursAucBySklearn: Record<string, number>; versions: Record<string, string> }[];
  };

  console.log(`\nTest AUC on a ${holdout.fraction * 100}% stratified test split (seed ${holdout.seed}), both sides fitted on the whole training split; scikit-learn ${sk.datasets[0]?.versions['scikit-learn']}`);
  console.log('| dataset | algorithm | ours AUC [95% CI] | sklearn AUC | diff | goal |diff| <= 0.01 | ours train s | sklearn fit s (1 thread) |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let failed = false;
  for (const [k, { dataset, results }] of fitted.entries()) {
    const s = sk.datasets[k]!;
    for (const algorithm of algorithms) {
      const r = results[algorithm];
      const theirs = s.sklearn[algorithm]!;
      const diff = r.testAuc.auc - theirs.auc;
      const ok = Math.abs(diff) <= 0.01;
      failed ||= !ok;
      const checked = Math.abs(s.oursAucBySklearn[algorithm]! - r.testAuc.auc) < 1e-9 ? '' : ' (AUC MISMATCH)';
      const { auc, lower, upper } = r.testAuc;
      console.log(
        `| ${dataset.name} | ${algorithm} | ${auc.toFixed(4)} [${lower.toFixed(3)}, ${upper.toFixed(3)}]${checked} | ${theirs.auc.toFixed(4)} | ${signed(diff)} | ${ok ? 'met' : 'MISSED'} | ${r.training.seconds.toFixed(2)} | ${theirs.fitSeconds.toFixed(2)} |`,
      );
    }
    const oneHot = s.sklearn['gradient_boosted_trees (sklearn one-hot)'];
    if (oneHot) console.log(`| ${dataset.name} | (for information) sklearn HGB on one-hot columns | | ${oneHot.auc.toFixed(4)} | | | | ${oneHot.fitSeconds.toFixed(2)} |`);
  }

  console.log('\nSingle-record ONNX scoring, one thread, sequential calls (us per record)');
  console.log('| dataset | model | ours: predict() p50 / p99 | baseline: bare session.run p50 / p99 | ratio p50 |');
  console.log('| --- | --- | --- | --- | --- |');
  const cache = new SessionCache();
  for (const { dataset, table, split, results } of fitted) {
    for (const algorithm of algorithms) {
      const r = results[algorithm];
      const { bytes, schema } = exportOnnx(r.model);
      writeFileSync(path.join(outDir, `${dataset.name}-${algorithm}.onnx`), bytes);
      const session = await cache.get(createHash('sha256').update(bytes).digest('hex'), () => bytes);
      const row = split.holdout[0]!;
      const record = Object.fromEntries(schema.inputs.map((f) => [f.name, table.columns[f.name]![row] ?? null]));
      const feeds = Object.fromEntries(
        schema.inputs.map((f) => {
          const v = record[f.name];
          return [f.input, f.tensor === 'string' ? new ort.Tensor('string', [v == null ? '' : String(v)], [1, 1]) : new ort.Tensor('float32', Float32Array.of(v == null ? NaN : Number(v)), [1, 1])];
        }),
      );
      const [ours, bare] = await compareLatency(
        () => predict(session, schema, [record]),
        () => session.run(feeds),
      );
      console.log(`| ${dataset.name} | ${algorithm} | ${ours.p50.toFixed(1)} / ${ours.p99.toFixed(1)} | ${bare.p50.toFixed(1)} / ${bare.p99.toFixed(1)} | ${(ours.p50 / bare.p50).toFixed(2)} |`);
    }
  }
  if (failed) {
    console.log('\nQuality goal missed: see the table above.');
    process.exitCode = 1;
  }
}

type Latency = { p50: number; p99: number };

/** Single calls, ours and the baseline alternating in blocks so machine noise hits both alike. */
async function compareLatency(ours: () => Promise<unknown>, baseline: () => Promise<unknown>, blocks = 30, perBlock = 100): Promise<[Latency, Latency]> {
  const samples: [number[], number[]] = [[], []];
  const calls = [ours, baseline];
  for (let i = 0; i < 300; i++) await Promise.all([ours(), baseline()]);
  for (let b = 0; b < blocks; b++) {
    for (const which of [0, 1] as const) {
      for (let i = 0; i < perBlock; i++) {
        const t = process.hrtime.bigint();
        await calls[which]!();
        samples[which].push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }
  }
  const summary = (xs: number[]): Latency => {
    xs.sort((a, b) => a - b);
    return { p50: xs[Math.floor(xs.length * 0.5)]!, p99: xs[Math.floor(xs.length * 0.99)]! };
  };
  return [summary(samples[0]), summary(samples[1])];
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(4)}`;

await main();
