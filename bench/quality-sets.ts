/**
 * Generated tabular sets of four kinds for bench/ml-quality.ts: numeric-heavy, categorical-heavy,
 * 5% positives and 500 rows. Each has a nonlinear target (interactions, thresholds, category
 * effects) plus noise and a few missing values, so neither model family wins by construction.
 * Deterministic per seed; written as CSV (header first, missing values empty) so the Python side
 * reads the same file.
 */
import { gaussian, seededRandom } from '../server/ml/random';

export type GeneratedSet = { name: string; kind: string; rows: number; csv: string; target: string; positive: string };

type Spec = { name: string; kind: string; rows: number; numeric: number; categorical: number[]; positiveRate: number; seed: number };

export const generatedSpecs: Spec[] = [
  { name: 'gen_numeric', kind: 'numeric-heavy', rows: 6000, numeric: 30, categorical: [4], positiveRate: 0.35, seed: 11 },
  { name: 'gen_categorical', kind: 'categorical-heavy', rows: 6000, numeric: 2, categorical: [3, 5, 8, 12, 20, 30, 6, 40, 4, 10], positiveRate: 0.35, seed: 12 },
  { name: 'gen_imbalanced', kind: '5% positives', rows: 10000, numeric: 10, categorical: [5, 12, 25], positiveRate: 0.05, seed: 13 },
  { name: 'gen_small', kind: '500 rows', rows: 500, numeric: 8, categorical: [3, 6], positiveRate: 0.4, seed: 14 },
];

export function generateCsv(spec: Spec): string {
  const rng = seededRandom(spec.seed);
  const gauss = () => gaussian(rng);
  const numNames = Array.from({ length: spec.numeric }, (_, i) => `x${i + 1}`);
  const catNames = spec.categorical.map((_, i) => `c${i + 1}`);
  const weights = numNames.map((_, i) => (i % 4 === 3 ? 0 : gauss() * (i < 6 ? 1 : 0.4)));
  const effects = spec.categorical.map((levels) => Array.from({ length: levels }, () => gauss() * 0.8));
  const scores: number[] = [];
  const rows: string[][] = [];
  for (let r = 0; r < spec.rows; r++) {
    const x = numNames.map((_, i) => (i % 5 === 4 ? Math.exp(gauss()) : gauss()));
    const c = spec.categorical.map((levels) => Math.min(levels - 1, Math.floor(levels * rng.next() ** 1.5)));
    let z = 0;
    x.forEach((v, i) => (z += weights[i]! * (i % 3 === 2 ? Math.max(0, v) : v)));
    c.forEach((l, i) => (z += effects[i]![l]!));
    if (x.length >= 2) z += 0.8 * x[0]! * x[1]!;
    if (c.length >= 2) z += (c[0]! + c[1]!) % 2 ? 0.6 : -0.6;
    z += gauss() * 1.2;
    scores.push(z);
    rows.push([
      ...x.map((v) => (rng.next() < 0.03 ? '' : String(Math.round(v * 1e4) / 1e4))),
      ...c.map((l, i) => (rng.next() < 0.02 ? '' : `${catNames[i]}_${l}`)),
    ]);
  }
  const cut = [...scores].sort((a, b) => b - a)[Math.floor(spec.rows * spec.positiveRate)]!;
  const lines = [[...numNames, ...catNames, 'target'].join(',')];
  rows.forEach((row, r) => lines.push([...row, scores[r]! > cut ? 'yes' : 'no'].join(',')));
  return `${lines.join('\n')}\n`;
}
