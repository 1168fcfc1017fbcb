/**
 * The performance aims of issue 15, checked at the end of `npm run bench`.
 *
 * Each benchmark records what it measured with `recordAims(bench, row, values, conditions)`: raw
 * ratios against the baseline it ran in the same process, written to `bench/.out/aims/<bench>.json`
 * (merged, so a benchmark that fails half-way keeps the rows it got to). `bench/run.ts` clears that
 * folder before a run and prints `aimsTable()` after it: one line per row of the issue's table with
 * the measured values, the aim and pass / miss, or "not measured" and why.
 *
 * The aims themselves live only here (AIMS), so a benchmark reports numbers and never decides
 * whether it passed.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const AIMS_DIR = path.join(import.meta.dirname, '.out', 'aims');

/** `>=`: a throughput-like ratio (higher is better); `<=`: a cost-like ratio or a duration. */
type Threshold = readonly ['>=' | '<=', number];

export type AimRow = {
  id: string;
  /** The measure as the issue's table words it. */
  measure: string;
  /** The benchmark that measures it (`npm run bench <bench>`). */
  bench: string;
  /** The aim as the issue's table words it. */
  aim: string;
  /** Named values the row needs and what each must meet; a row passes when every one does. */
  checks: Record<string, Threshold>;
  /** Values printed beside the checks but not judged (context the issue quotes). */
  info?: readonly string[];
  /** Unit of the values: a ratio prints as `0.91x`, milliseconds as `35 ms`. */
  units?: Record<string, 'x' | 'ms'>;
};

export const AIMS: readonly AimRow[] = [
  {
    id: 'rest-bare',
    measure: 'REST predict / bare fastify + ONNX',
    bench: 'scoring',
    aim: '>= 0.9x both, p99 <= 1.2x',
    checks: { 'LR': ['>=', 0.9], 'trees': ['>=', 0.9], 'p99 LR': ['<=', 1.2], 'p99 trees': ['<=', 1.2] },
  },
  {
    id: 'trpc-bare',
    measure: 'tRPC scoring.predict / bare',
    bench: 'scoring',
    aim: '>= 0.85x, p99 <= 1.3x',
    checks: { 'LR': ['>=', 0.85], 'trees': ['>=', 0.85], 'p99 LR': ['<=', 1.3], 'p99 trees': ['<=', 1.3] },
  },
  {
    id: 'rest-python',
    measure: 'REST / Python FastAPI + onnxruntime peer',
    bench: 'scoring',
    aim: '>= 2.5x',
    checks: { 'LR': ['>=', 2.5], 'trees': ['>=', 2.5] },
  },
  {
    id: 'logging',
    measure: 'prediction logging on / off',
    bench: 'scoring',
    aim: '>= 0.95x',
    checks: { 'LR': ['>=', 0.95], 'trees': ['>=', 0.95] },
  },
  {
    id: 'build-sql',
    measure: '10-cell SQL build / same SQL through pg',
    bench: 'pipeline',
    aim: '<= 1.3x, fixed cost <= 40 ms per step',
    checks: { 'build': ['<=', 1.3], 'fixed cost': ['<=', 40] },
    info: ['one step at a time'],
    units: { 'fixed cost': 'ms' },
  },
  {
    id: 'csv-copy',
    measure: 'CSV upload / bare COPY (Postgres)',
    bench: 'datasets',
    aim: '>= 0.6x',
    checks: { 'postgres': ['>=', 0.6] },
    info: ['embedded'],
  },
  {
    id: 'batch-floor',
    measure: 'batch scoring / COPY floor',
    bench: 'batch-scoring',
    aim: 'trees >= 0.7x, LR >= 0.9x',
    checks: { 'trees': ['>=', 0.7], 'LR': ['>=', 0.9] },
  },
  {
    id: 'collab-p99',
    measure: 'collab, 50 clients, p99 / stock y-websocket',
    bench: 'collab',
    aim: '<= 1.5x every round',
    checks: { 'worst round': ['<=', 1.5] },
    info: ['all rounds', 'cpu per edit'],
  },
];

export type AimsFile = {
  bench: string;
  /** Sizes and settings the values were measured at (`1,000,000 rows`, `10 s x 2 rounds`). */
  conditions: string;
  values: Record<string, Record<string, number>>;
};

const fileOf = (dir: string, bench: string) => path.join(dir, `${bench}.json`);

function readAimsFile(file: string): AimsFile | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AimsFile;
  } catch {
    return null;
  }
}

/** Record measured values for one row of AIMS (merged into what the benchmark recorded so far). */
export function recordAims(bench: string, rowId: string, values: Record<string, number>, conditions: string, dir = AIMS_DIR): void {
  const row = AIMS.find((r) => r.id === rowId);
  if (!row) throw new Error(`bench/aims.ts has no row "${rowId}"`);
  if (row.bench !== bench) throw new Error(`row "${rowId}" belongs to bench ${row.bench}, not ${bench}`);
  const known = new Set([...Object.keys(row.checks), ...(row.info ?? [])]);
  for (const key of Object.keys(values)) if (!known.has(key)) throw new Error(`row "${rowId}" has no value "${key}" (it has: ${[...known].join(', ')})`);
  mkdirSync(dir, { recursive: true });
  const file = fileOf(dir, bench);
  const current = readAimsFile(file) ?? { bench, conditions, values: {} };
  current.conditions = conditions;
  current.values[rowId] = { ...current.values[rowId], ...values };
  writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
}

/** Forget every recorded result (run.ts does this before a run, so nothing stale is reported). */
export function clearAims(dir = AIMS_DIR): void {
  rmSync(dir, { recursive: true, force: true });
}

export function readAims(dir = AIMS_DIR): Map<string, AimsFile> {
  const out = new Map<string, AimsFile>();
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return out;
  }
  for (const n of names) {
    const f = readAimsFile(path.join(dir, n));
    if (f) out.set(f.bench, f);
  }
  return out;
}

export type Verdict = 'pass' | 'miss' | 'not measured';

export type SummaryLine = { row: AimRow; measured: string; verdict: Verdict; note: string };

const show = (row: AimRow, key: string, v: number) => (row.units?.[key] === 'ms' ? `${Math.round(v)} ms` : `${v.toFixed(2)}x`);

/**
 * Judge every row. `ran` gives the exit status of each benchmark run this time (absent: not run), so a
 * row without values says whether its benchmark was not run, failed, or ran without measuring it.
 */
export function summarize(results: Map<string, AimsFile>, ran: Map<string, number | null>): SummaryLine[] {
  return AIMS.map((row) => {
    const file = results.get(row.bench);
    const values = file?.values[row.id] ?? {};
    const keys = Object.keys(row.checks);
    const missing = keys.filter((k) => !Number.isFinite(values[k]));
    const parts = [...keys, ...(row.info ?? [])].filter((k) => Number.isFinite(values[k])).map((k) => `${k} ${show(row, k, values[k]!)}`);
    const measured = parts.join(', ');
    const conditions = file?.conditions ? ` (${file.conditions})` : '';
    if (missing.length) {
      const status = ran.get(row.bench);
      const why =
        status === undefined
          ? `bench ${row.bench} was not run (npm run bench ${row.bench})`
          : status !== 0
            ? `bench ${row.bench} failed (exit ${status ?? 'signal'})`
            : `bench ${row.bench} ran without measuring it`;
      const partly = parts.length ? `; missing ${missing.join(', ')}` : '';
      return { row, measured: parts.length ? measured : '-', verdict: 'not measured', note: `${why}${partly}${parts.length ? conditions : ''}` };
    }
    const misses = keys.filter((k) => {
      const [op, aim] = row.checks[k]!;
      return op === '>=' ? !(values[k]! >= aim) : !(values[k]! <= aim);
    });
    return { row, measured, verdict: misses.length ? 'miss' : 'pass', note: `${misses.length ? `missed: ${misses.join(', ')}` : ''}${conditions}`.trim() };
  });
}

/** The closing table of `npm run bench`, as Markdown (pastes straight into an issue). */
export function aimsTable(lines: SummaryLine[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = ['| measure | measured | aim | verdict | note |', '| --- | --- | --- | --- | --- |'];
  for (const l of lines) out.push(`| ${esc(l.row.measure)} | ${esc(l.measured)} | ${esc(l.row.aim)} | ${l.verdict} | ${esc(l.note)} |`);
  const count = (v: Verdict) => lines.filter((l) => l.verdict === v).length;
  out.push('', `${count('pass')} pass, ${count('miss')} miss, ${count('not measured')} not measured (ratios against a baseline measured in the same run; see bench/README.md)`);
  return out.join('\n');
}

/**
 * A numeric option of a benchmark: `--name N` anywhere in its arguments (what `npm run bench <names>
 * -- --name N` passes on), else its positional argument at `position` (when run directly), else the default.
 */
export function numberOption(name: string, position: number, fallback: number, argv = process.argv.slice(2)): number {
  const i = argv.indexOf(`--${name}`);
  const positional = argv.filter((a, j) => !a.startsWith('--') && !(j > 0 && argv[j - 1]!.startsWith('--')));
  const raw = i >= 0 ? argv[i + 1] : positional[position];
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} wants a positive number, got "${raw}"`);
  return n;
}
