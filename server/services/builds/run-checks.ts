import type { BuildCheckOutcome, DatasetColumnMetrics } from '@/db/schema';
import type { Check } from '@/server/pipeline';
import { assertNever } from '../errors';
import type { SandboxFailure, SandboxQuery } from '../datasets/sql-sandbox';
import { ident } from '../datasets/storage';
import type { TableColumn } from '../cells/table-metrics';

export type CheckTarget = {
  /** The table the checks read: a build's staging table, or a source dataset's own table. */
  table: string;
  dataset: string;
  columns: TableColumn[];
  metrics: { rowCount: number; columns: DatasetColumnMetrics[] };
};

/** What a custom check's SELECT returned (run beforehand, in sessions of their own), by check index. */
export type CustomCounts = Map<number, { ok: true; count: number } | SandboxFailure>;

export function checkName(check: Check, index: number): string {
  switch (check.type) {
    case 'row_count':
      return 'row_count';
    case 'null_rate':
    case 'value_range':
    case 'accepted_values':
      return `${check.type}(${check.column})`;
    case 'unique':
      return `unique(${check.columns.join(', ')})`;
    case 'custom_sql':
      return check.name ?? `custom_sql#${index + 1}`;
    default:
      return assertNever(check, 'check');
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Evaluates checks on the target. Built-in checks are our SQL over the table (column names quoted,
 * values as parameters) in the caller's sandbox session; custom checks were run through the SQL
 * sandbox's own checks beforehand (never a session inside a session: the sandbox pool
 * is small and a nested session could wait for itself). A check that cannot run (unknown column, a SQL error) fails with the reason.
 */
export async function runChecks(q: SandboxQuery, target: CheckTarget, checks: Check[], custom: CustomCounts): Promise<BuildCheckOutcome[]> {
  const out: BuildCheckOutcome[] = [];
  for (const [i, check] of checks.entries()) {
    const outcome = (passed: boolean, detail: string, vs?: { observed: string; expected: string }): BuildCheckOutcome => ({
      name: checkName(check, i),
      severity: check.severity,
      passed,
      detail,
      ...(vs ?? {}),
    });
    const missing = columnsOf(check).filter((c) => !target.columns.some((tc) => tc.name === c));
    if (missing.length) {
      out.push(outcome(false, `"${target.dataset}" has no column ${missing.map((m) => `"${m}"`).join(', ')}`));
      continue;
    }
    if (check.type === 'custom_sql') {
      const r = custom.get(i);
      if (!r || !r.ok) out.push(outcome(false, `the check's SQL failed: ${r?.message ?? 'it did not run'}`));
      else out.push(outcome(r.count === 0, r.count === 0 ? 'no offending rows' : `${fmt(r.count)} offending row${r.count === 1 ? '' : 's'}`, { observed: `${fmt(r.count)} offending row${r.count === 1 ? '' : 's'}`, expected: 'none' }));
      continue;
    }
    if (check.type === 'row_count' || check.type === 'null_rate') {
      out.push(await evaluate(q, target, check, outcome));
      continue;
    }
    // A check whose SQL fails (a value that does not cast, say) fails alone: a savepoint keeps the
    // session's transaction usable for the next one.
    await q('SAVEPOINT sb_check');
    try {
      out.push(await evaluate(q, target, check, outcome));
      await q('RELEASE SAVEPOINT sb_check');
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      if (typeof e.code !== 'string') throw err;
      await q('ROLLBACK TO SAVEPOINT sb_check');
      out.push(outcome(false, `the check could not run: ${String(e.message)}`));
    }
  }
  return out;
}

function columnsOf(check: Check): string[] {
  if (check.type === 'unique') return check.columns;
  return 'column' in check ? [check.column] : [];
}

async function evaluate(
  q: SandboxQuery,
  target: CheckTarget,
  check: Exclude<Check, { type: 'custom_sql' }>,
  outcome: (passed: boolean, detail: string, vs?: { observed: string; expected: string }) => BuildCheckOutcome,
): Promise<BuildCheckOutcome> {
  const n = target.metrics.rowCount;
  const table = ident(target.table);
  const count = async (sql: string, params: unknown[] = []) => Number((await q(sql, params)).rows[0]?.n ?? 0);
  switch (check.type) {
    case 'row_count': {
      const passed = (check.min === undefined || n >= check.min) && (check.max === undefined || n <= check.max);
      return outcome(passed, `${fmt(n)} rows (expected ${range(check.min, check.max)})`, { observed: `${fmt(n)} row${n === 1 ? '' : 's'}`, expected: bounds(check.min, check.max, fmt) });
    }
    case 'null_rate': {
      const measured = target.metrics.columns.find((c) => c.name === check.column);
      // A sampled table's null count is an estimate: a check decides on the exact count.
      const nulls = measured?.approximate ? await count(`SELECT count(*) - count(${ident(check.column)}) AS n FROM ${table}`) : (measured?.nullCount ?? 0);
      const rate = n === 0 ? 0 : nulls / n;
      return outcome(rate <= check.max, `${pct(rate)} null (${fmt(nulls)} of ${fmt(n)}; at most ${pct(check.max)})`, { observed: `${pct(rate)} null`, expected: `max ${pct(check.max)}` });
    }
    case 'value_range': {
      const col = ident(check.column);
      const conds = [...(check.min === undefined ? [] : [`${col} < $1`]), ...(check.max === undefined ? [] : [`${col} > $${check.min === undefined ? 1 : 2}`])];
      const params = [...(check.min === undefined ? [] : [check.min]), ...(check.max === undefined ? [] : [check.max])];
      const bad = await count(`SELECT count(*) AS n FROM ${table} WHERE ${conds.join(' OR ')}`, params);
      return outcome(bad === 0, `${fmt(bad)} row${bad === 1 ? '' : 's'} outside ${range(check.min, check.max)}`, { observed: `${fmt(bad)} row${bad === 1 ? '' : 's'} outside`, expected: bounds(check.min, check.max, String) });
    }
    case 'unique': {
      const cols = check.columns.map(ident).join(', ');
      const dup = await count(`SELECT count(*) AS n FROM (SELECT 1 FROM ${table} GROUP BY ${cols} HAVING count(*) > 1) d`);
      return outcome(dup === 0, dup === 0 ? `no duplicates of (${check.columns.join(', ')})` : `${fmt(dup)} value${dup === 1 ? '' : 's'} of (${check.columns.join(', ')}) appear more than once`, {
        observed: `${fmt(dup)} duplicate${dup === 1 ? '' : 's'}`,
        expected: 'none',
      });
    }
    case 'accepted_values': {
      const col = ident(check.column);
      const values = check.values;
      // Compare as the values are written: numbers numerically, booleans as booleans, else as text.
      const as = values.every((v) => typeof v === 'number') ? 'float8' : values.every((v) => typeof v === 'boolean') ? 'boolean' : 'text';
      const bad = await count(`SELECT count(*) AS n FROM ${table} WHERE ${col} IS NOT NULL AND ${col}::${as} <> ALL($1::${as}[])`, [values.map((v) => (as === 'text' ? String(v) : v))]);
      return outcome(bad === 0, `${fmt(bad)} row${bad === 1 ? '' : 's'} with a value not in [${values.map(String).join(', ')}]`, { observed: `${fmt(bad)} other value${bad === 1 ? '' : 's'}`, expected: 'none' });
    }
    default:
      return assertNever(check, 'check');
  }
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${fmt(min)} and ${fmt(max)}`;
  return min !== undefined ? `at least ${fmt(min)}` : `at most ${fmt(max!)}`;
}

/** A threshold in few words: "min 4,000", "max 3", "1 to 10". */
function bounds(min: number | undefined, max: number | undefined, f: (n: number) => string): string {
  if (min !== undefined && max !== undefined) return `${f(min)} to ${f(max)}`;
  return min !== undefined ? `min ${f(min)}` : `max ${f(max!)}`;
}

/** A failed check in a sentence: "check row_count failed (3,980 rows, min 4,000)". */
export function checkFailureText(c: BuildCheckOutcome): string {
  return `check ${c.name} failed (${c.observed !== undefined && c.expected !== undefined ? `${c.observed}, ${c.expected}` : c.detail})`;
}

function pct(x: number): string {
  return `${Math.round(x * 10_000) / 100}%`;
}
