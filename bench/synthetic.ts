/**
 * A generated binary-classification dataset for the batch-scoring and training benchmarks: 20
 * features (14 numeric, 2% of them missing; 6 categorical of 3 to 40 levels) and a target `label`
 * (yes/no, ~30% yes) that depends on both kinds, an interaction and noise. Deterministic per seed.
 */
import { gaussian, seededRandom } from '../server/ml/random';
import type { CellValue, ColumnSchema, Table } from '../server/ml/types';

export const NUMERIC = Array.from({ length: 14 }, (_, i) => `n${i + 1}`);
export const CATEGORICAL = [3, 5, 8, 12, 20, 40].map((levels, i) => ({ name: `c${i + 1}`, levels }));
export const TARGET = 'label';
export const FEATURES = [...NUMERIC, ...CATEGORICAL.map((c) => c.name)];
export const SCHEMA: ColumnSchema[] = [...NUMERIC.map((name) => ({ name, type: 'numeric' as const })), ...CATEGORICAL.map((c) => ({ name: c.name, type: 'categorical' as const })), { name: TARGET, type: 'categorical' }];

const WEIGHTS = NUMERIC.map((_, i) => (i % 3 === 0 ? 0.8 : i % 3 === 1 ? -0.5 : 0.1) / (1 + i / 7));
const LEVEL_NAMES = CATEGORICAL.map((c) => Array.from({ length: c.levels }, (_, l) => `${c.name}_${String.fromCharCode(97 + (l % 26))}${l >= 26 ? l : ''}`));
const LEVEL_EFFECTS = CATEGORICAL.map((c, ci) => Array.from({ length: c.levels }, (_, l) => Math.sin(l * 1.7 + ci) * (ci < 3 ? 0.9 : 0.3)));

/** A generator of rows: each call fills `values` with the next row, in SCHEMA order. */
function rowGenerator(seed: number): (values: CellValue[]) => void {
  const rng = seededRandom(seed);
  const rand = rng.next;
  const gauss = () => gaussian(rng);
  return (values) => {
    let z = -1.1;
    for (let i = 0; i < NUMERIC.length; i++) {
      const x = Math.round((gauss() * (1 + i) + i * 3) * 1000) / 1000;
      z += WEIGHTS[i]! * (x - i * 3) / (1 + i) * 2;
      values[i] = rand() < 0.02 ? null : x;
    }
    for (let c = 0; c < CATEGORICAL.length; c++) {
      // Skewed level frequencies, as real categories are.
      const l = Math.min(CATEGORICAL[c]!.levels - 1, Math.floor(CATEGORICAL[c]!.levels * rand() ** 1.6));
      z += LEVEL_EFFECTS[c]![l]!;
      values[NUMERIC.length + c] = LEVEL_NAMES[c]![l]!;
    }
    z += 0.6 * Math.tanh((values[0] as number | null ?? 0) * (values[1] as number | null ?? 0) / 10) + 1.6 * gauss();
    values[SCHEMA.length - 1] = z > 0 ? 'yes' : 'no';
  };
}

/** Calls `row` with each generated row's values (one array, reused: copy what you keep). */
export function generateRows(n: number, seed: number, row: (values: CellValue[]) => void): void {
  const next = rowGenerator(seed);
  const values: CellValue[] = new Array<CellValue>(SCHEMA.length);
  for (let r = 0; r < n; r++) {
    next(values);
    row(values);
  }
}

/** The rows as an in-memory training table. */
export function syntheticTable(n: number, seed = 1): Table {
  const columns = SCHEMA.map(() => new Array<CellValue>(n));
  let r = 0;
  generateRows(n, seed, (values) => {
    for (let c = 0; c < values.length; c++) columns[c]![r] = values[c]!;
    r++;
  });
  return { columns: Object.fromEntries(SCHEMA.map((s, c) => [s.name, columns[c]!])), schema: SCHEMA };
}

/** The rows as CSV (header first; missing values empty), in chunks of ~`chunkRows` rows. */
export async function* syntheticCsv(n: number, seed = 1, chunkRows = 5_000): AsyncGenerator<string> {
  yield `${SCHEMA.map((s) => s.name).join(',')}\n`;
  const next = rowGenerator(seed);
  const values: CellValue[] = new Array<CellValue>(SCHEMA.length);
  let chunk: string[] = [];
  for (let r = 0; r < n; r++) {
    next(values);
    chunk.push(`${values.map((v) => (v === null ? '' : String(v))).join(',')}\n`);
    if (chunk.length >= chunkRows) {
      yield chunk.join('');
      chunk = [];
    }
  }
  if (chunk.length) yield chunk.join('');
}
