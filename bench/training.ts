/**
 * Training time against scikit-learn, in the same run, on the same data and the same split, one
 * thread each (scikit-learn with OMP_NUM_THREADS=1):
 * - gradient-boosted trees against HistGradientBoostingClassifier with native categoricals, the
 *   same iterations (100, early stopping off) and HGB's defaults (31 leaves, 20 rows per leaf,
 *   learning rate 0.1, 255 bins), on generated data with 20 features (bench/synthetic.ts: 14
 *   numeric with missing values, 6 categorical) at 100k and 1M rows, 80% training split;
 * - logistic regression against LogisticRegression (lbfgs) after median imputation and scaling, on
 *   wide numeric data (57 columns: the spam set's width at its size, 4,601 rows, and at 100k rows).
 *
 * "fit" is fitting the preprocessing and the estimator on the loaded data (ours: the feature plan
 * plus `algorithm.fit`, binning included; theirs: Pipeline.fit, encoding included); "all" adds ours'
 * encoding of the table into typed columns and holdout scoring, theirs' predict_proba. Logistic
 * regression rows are the median of 5 fits on each side (tens of milliseconds at 4,601 rows).
 * Training memory: ours' peak heap + external memory (array buffers, and the trees' WebAssembly memory,
 * which arrayBuffers does not count) during the (first) fit above what the encoded
 * table held before it (sampled every iteration), theirs' growth of peak RSS during the first fit. The machine's load average is printed: other work on the same cores
 * slows both sides alike, so read the ratios.
 *
 *   npx tsx bench/training.ts [--rows 100000,1000000] [--only trees|lr]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { algorithmOf } from '../server/ml/algorithms';
import { encodeFeatures, planFeatures } from '../server/ml/features';
import { aucWithInterval } from '../server/ml/metrics';
import { predictEncoded } from '../server/ml/model';
import { gaussian, seededRandom } from '../server/ml/random';
import { CategoricalSpec, GradientBoostedTreesParams, LogisticRegressionParams } from '../server/ml/spec';
import { type Split, holdoutSplit } from '../server/ml/split';
import { inferSchema, targetVector } from '../server/ml/table';
import type { CellValue, Table } from '../server/ml/types';
import { FEATURES, NUMERIC, TARGET, syntheticCsv, syntheticTable } from './synthetic';

const repoRoot = path.resolve(import.meta.dirname, '..');
const outDir = path.join(repoRoot, 'bench/.out/training');
const SEED = 7;
const ITERATIONS = 100;
/** Logistic regression fits take tens of milliseconds at 4,601 rows: one fit's time is mostly noise on a busy machine, so both sides report the median of 5. */
const LR_REPEATS = 5;

function rowsArg(): number[] {
  const i = process.argv.indexOf('--rows');
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const sizes = (raw ?? '100000,1000000').split(',').map((s) => Number(s.replace(/_/g, '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100)) throw new Error(`--rows wants comma-separated row counts >= 100, got "${raw}"`);
  return sizes;
}

function onlyArg(): 'trees' | 'lr' | undefined {
  const i = process.argv.indexOf('--only');
  if (i < 0) return undefined;
  const raw = process.argv[i + 1];
  if (raw !== 'trees' && raw !== 'lr') throw new Error(`--only wants trees or lr, got "${raw}"`);
  return raw;
}

type Measured = { fit: number; all: number; auc: number; memoryMb: number; iterations: number };
type PyFit = { name: string; model: 'hgb' | 'lr'; csv: string; train: string; test: string; numeric: string[]; categorical?: string[]; target: string; positive: string; maxIter?: number; repeats?: number };
type PyResult = { name: string; fitSeconds: number; predictSeconds: number; auc: number; peakRssGrowthMb: number; sklearn: string; iterations?: number };

async function writeLines(file: string, chunks: AsyncIterable<string> | Iterable<string>) {
  if (existsSync(file)) return;
  const out = createWriteStream(`${file}.part`);
  for await (const chunk of chunks) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  out.end();
  await finished(out);
  renameSync(`${file}.part`, file);
}

function writeSplit(prefix: string, split: Split) {
  const files = { train: `${prefix}.train.u32`, test: `${prefix}.test.u32` };
  writeFileSync(files.train, new Uint8Array(split.train.buffer, split.train.byteOffset, split.train.byteLength));
  writeFileSync(files.test, new Uint8Array(split.holdout.buffer, split.holdout.byteOffset, split.holdout.byteLength));
  return files;
}

/**
 * Our side, step by step as trainModel does it (refit off): plan and encode, fit, score the holdout.
 * "fit" is the plan (medians, means, scales, categories: what scikit-learn's Pipeline.fit fits too)
 * plus `algorithm.fit`; encoding the table into typed columns is reading the data (scikit-learn's
 * read_csv, outside its timing) and counts in "all" only. With `repeats` > 1 each figure is the
 * median over that many fits, the first (cold JIT) one included.
 */
async function ours(table: Table, features: string[], split: Split, y: Uint8Array, n: number, spec: { algorithm: 'gradient_boosted_trees' | 'logistic_regression'; params: unknown }, repeats = 1): Promise<Measured> {
  const fits: number[] = [];
  const alls: number[] = [];
  let last: Omit<Measured, 'fit' | 'all'> | undefined;
  for (let k = 0; k < repeats; k++) {
    const encodingPlan = planFeatures(table, features, split.train, CategoricalSpec.parse({}));
    const started = performance.now();
    const enc = encodeFeatures(table, encodingPlan, n);
    const encoded = performance.now() - started;
    const algorithm = algorithmOf(spec.algorithm);
    const memory = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const baseline = memory();
    let peak = baseline;
    const fitStarted = performance.now();
    const plan = planFeatures(table, features, split.train, CategoricalSpec.parse({}));
    const fitted = await algorithm.fit({
      enc,
      plan,
      rows: n,
      y,
      split,
      params: spec.params,
      seed: 42,
      pace: async () => {},
      onProgress: () => {
        peak = Math.max(peak, memory());
      },
    });
    const fit = (performance.now() - fitStarted) / 1000;
    const model = { algorithm: spec.algorithm, target: { name: TARGET, positiveClass: 'yes', negativeClass: 'no' }, features: plan, columns: algorithm.columns(plan), estimator: fitted.estimator } as Parameters<typeof predictEncoded>[0];
    const p = predictEncoded(model, enc, split.holdout);
    const auc = aucWithInterval(Uint8Array.from(split.holdout, (r) => y[r]!), p).auc;
    fits.push(fit);
    // "all": encode + plan + fit + holdout scoring (the plan made above only to encode is not counted).
    alls.push(encoded / 1000 + (performance.now() - fitStarted) / 1000);
    // Memory: the first fit's, as the Python side reports it (later fits reuse a grown heap).
    last ??= { auc, memoryMb: (peak - baseline) / 2 ** 20, iterations: fitted.iterations };
  }
  return { fit: median(fits), all: median(alls), ...last! };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Wide numeric data: 57 columns (3% missing), a linear target with noise. */
function wideTable(n: number, seed: number): Table {
  const rng = seededRandom(seed);
  const d = 57;
  const weights = Array.from({ length: d }, (_, j) => (j % 5 === 0 ? 0 : gaussian(rng) / Math.sqrt(d / 8)));
  const columns: Record<string, CellValue[]> = Object.fromEntries([...Array.from({ length: d }, (_, j) => [`w${j + 1}`, []]), ['label', []]]);
  for (let i = 0; i < n; i++) {
    let z = -0.4;
    for (let j = 0; j < d; j++) {
      const x = j % 7 === 6 ? Math.exp(gaussian(rng)) : gaussian(rng) * (1 + j / 10);
      z += (weights[j]! * x) / (1 + j / 10);
      columns[`w${j + 1}`]!.push(rng.next() < 0.03 ? null : Math.round(x * 1e4) / 1e4);
    }
    columns.label!.push(z + gaussian(rng) > 0 ? 'yes' : 'no');
  }
  return { columns, schema: inferSchema(columns) };
}

function* tableCsv(table: Table) {
  const names = table.schema.map((s) => s.name);
  yield `${names.join(',')}\n`;
  const n = table.columns[names[0]!]!.length;
  for (let r = 0; r < n; r++) yield `${names.map((c) => table.columns[c]![r] ?? '').join(',')}\n`;
}

async function main() {
  mkdirSync(outDir, { recursive: true });
  const only = onlyArg();
  const sizes = only === 'lr' ? [] : rowsArg();
  const load = [loadavg()[0]!];
  const rows: { label: string; model: string; ours: Measured; py: string }[] = [];
  const fits: PyFit[] = [];
  for (const n of sizes) {
    const csv = path.join(outDir, `synthetic-${n}-${SEED}.csv`);
    await writeLines(csv, syntheticCsv(n, SEED));
    const table = syntheticTable(n, SEED);
    const { y } = targetVector(table, TARGET, 'yes');
    const split = holdoutSplit(y, { fraction: 0.2, seed: 42, stratify: true }, Uint32Array.from({ length: n }, (_, i) => i));
    const params = GradientBoostedTreesParams.parse({ maxIter: ITERATIONS, earlyStopping: false });
    const measured = await ours(table, FEATURES, split, y, n, { algorithm: 'gradient_boosted_trees', params });
    const name = `trees-${n}`;
    fits.push({ name, model: 'hgb', csv, ...writeSplit(path.join(outDir, name), split), numeric: NUMERIC, categorical: FEATURES.filter((f) => !NUMERIC.includes(f)), target: TARGET, positive: 'yes', maxIter: ITERATIONS });
    rows.push({ label: `${n.toLocaleString('en-US')} x 20`, model: 'gradient_boosted_trees vs HistGradientBoosting', ours: measured, py: name });
  }
  for (const n of only === 'trees' ? [] : [4_601, 100_000]) {
    const table = wideTable(n, 3);
    const csv = path.join(outDir, `wide-${n}.csv`);
    await writeLines(csv, tableCsv(table));
    const { y } = targetVector(table, 'label', 'yes');
    const split = holdoutSplit(y, { fraction: 0.2, seed: 42, stratify: true }, Uint32Array.from({ length: n }, (_, i) => i));
    const features = table.schema.map((s) => s.name).filter((c) => c !== 'label');
    const measured = await ours(table, features, split, y, n, { algorithm: 'logistic_regression', params: LogisticRegressionParams.parse({}) }, LR_REPEATS);
    const name = `wide-${n}`;
    fits.push({ name, model: 'lr', csv, ...writeSplit(path.join(outDir, name), split), numeric: features, target: 'label', positive: 'yes', repeats: LR_REPEATS });
    rows.push({ label: `${n.toLocaleString('en-US')} x 57`, model: 'logistic_regression vs LogisticRegression(lbfgs)', ours: measured, py: name });
  }
  load.push(loadavg()[0]!);

  const jobFile = path.join(outDir, 'job.json');
  writeFileSync(jobFile, JSON.stringify({ fits }));
  const py = spawnSync('python3', [path.join(repoRoot, 'bench/training.py'), jobFile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
    env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
  });
  if (py.status !== 0) throw new Error(`bench/training.py failed (exit ${py.status})`);
  const results = new Map((JSON.parse(py.stdout) as PyResult[]).map((r) => [r.name, r]));
  load.push(loadavg()[0]!);

  console.log(`\nTraining time, one thread each, same data and split (80% train); scikit-learn ${[...results.values()][0]?.sklearn}; 1-minute load average on this 2-core machine: ${load.map((l) => l.toFixed(1)).join(' -> ')}`);
  console.log('| data | models | ours fit s | sklearn fit s | fit ratio | ours all s | sklearn fit+predict s | all ratio | iterations (ours / sklearn) | test AUC ours / sklearn | training memory MB ours / sklearn |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |');
  for (const { label, model, ours: o, py: name } of rows) {
    const s = results.get(name)!;
    const sAll = s.fitSeconds + s.predictSeconds;
    console.log(
      `| ${label} | ${model} | ${o.fit.toFixed(2)} | ${s.fitSeconds.toFixed(2)} | ${(o.fit / s.fitSeconds).toFixed(2)}x | ${o.all.toFixed(2)} | ${sAll.toFixed(2)} | ${(o.all / sAll).toFixed(2)}x | ${o.iterations} / ${s.iterations ?? ITERATIONS} | ${o.auc.toFixed(4)} / ${s.auc.toFixed(4)} | ${o.memoryMb.toFixed(0)} / ${s.peakRssGrowthMb.toFixed(0)} |`,
    );
  }
  console.log(`\nOur process: peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (the generated tables as JS values included).`);
}

await main();
