import { isNode, isScalar, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { Check } from './types';
import { lineColumnOf } from './text';

/**
 * A `check` cell is YAML:
 *
 *   dataset: clean_loans
 *   checks:
 *     - type: row_count
 *       min: 1000
 *     - type: null_rate
 *       column: income
 *       max: 0.05
 *       severity: warning
 *
 * Severity defaults to `error` (an error-level failure stops the dataset from being published).
 */
const Severity = z.enum(['error', 'warning'], { error: 'severity must be error or warning' }).default('error');
const Column = z.string({ error: 'column must be a column name' }).min(1, 'column must be a column name');
const Num = (what: string) => z.number({ error: `${what} must be a number` });

export const CheckSpec = z.discriminatedUnion(
  'type',
  [
    z
      .object({ type: z.literal('row_count'), min: Num('min').int().min(0).optional(), max: Num('max').int().min(0).optional(), severity: Severity })
      .strict()
      .refine((c) => c.min !== undefined || c.max !== undefined, { message: 'row_count needs min, max or both' }),
    z.object({ type: z.literal('null_rate'), column: Column, max: Num('max').min(0, 'max is a rate between 0 and 1').max(1, 'max is a rate between 0 and 1'), severity: Severity }).strict(),
    z
      .object({ type: z.literal('value_range'), column: Column, min: Num('min').optional(), max: Num('max').optional(), severity: Severity })
      .strict()
      .refine((c) => c.min !== undefined || c.max !== undefined, { message: 'value_range needs min, max or both' }),
    z.object({ type: z.literal('unique'), columns: z.array(Column, { error: 'columns must be a list of column names' }).min(1, 'columns must name at least one column'), severity: Severity }).strict(),
    z
      .object({
        type: z.literal('accepted_values'),
        column: Column,
        values: z.array(z.union([z.string(), z.number(), z.boolean()]), { error: 'values must be a list' }).min(1, 'values must list at least one value'),
        severity: Severity,
      })
      .strict(),
    z
      .object({
        type: z.literal('custom_sql'),
        name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'name must be a lowercase identifier').optional(),
        sql: z.string({ error: 'sql must be a SELECT returning the offending rows' }).min(1, 'sql must be a SELECT returning the offending rows'),
        severity: Severity,
      })
      .strict(),
  ],
  { error: 'type must be one of row_count, null_rate, value_range, unique, accepted_values, custom_sql' },
);

export const CheckCellSpec = z
  .object({
    dataset: z.string({ error: 'dataset is required: the dataset these checks test' }).min(1, 'dataset is required'),
    checks: z.array(CheckSpec, { error: 'checks must be a list' }).min(1, 'checks must list at least one check'),
  })
  .strict();

export type CheckCellProblem = { code: 'invalid-yaml' | 'invalid-check'; message: string; line: number; column: number };
export type ParsedCheckCell = {
  dataset: { name: string; line: number; column: number } | null;
  checks: Check[];
  /** Where each check's fields are, to point later diagnostics (unknown column, SQL errors) at them. */
  positions: { check: number; field: string; line: number; column: number; blockScalar: boolean }[];
  problems: CheckCellProblem[];
};

export function parseCheckCell(source: string): ParsedCheckCell {
  const empty: ParsedCheckCell = { dataset: null, checks: [], positions: [], problems: [] };
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      ...empty,
      problems: doc.errors.map((e) => {
        const { line, column } = lineColumnOf(source, e.pos[0]);
        return { code: 'invalid-yaml' as const, message: `invalid YAML: ${e.message.split('\n')[0]}`, line, column };
      }),
    };
  }
  const parsed = CheckCellSpec.safeParse(doc.toJS());
  if (!parsed.success) {
    return {
      ...empty,
      problems: parsed.error.issues.map((issue) => {
        const { line, column } = positionOf(doc, source, issue.path);
        const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
        return { code: 'invalid-check' as const, message: `${where}${issue.message}`, line, column };
      }),
    };
  }
  const positions: ParsedCheckCell['positions'] = [];
  for (const [i, c] of parsed.data.checks.entries()) {
    for (const field of Object.keys(c)) {
      const node = doc.getIn(['checks', i, field], true);
      if (!isNode(node) || !node.range) continue;
      const { line, column } = lineColumnOf(source, node.range[0]);
      positions.push({ check: i, field, line, column, blockScalar: isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') });
    }
  }
  const datasetPos = positionOf(doc, source, ['dataset']);
  return {
    dataset: { name: parsed.data.dataset, ...datasetPos },
    checks: parsed.data.checks.map((c, i) => (c.type === 'custom_sql' ? { ...c, name: c.name ?? `custom_sql_${i + 1}` } : c)),
    positions,
    problems: [],
  };
}

/** The line of the deepest YAML node on `path` that exists: the value itself, or its parent when a key is missing. */
function positionOf(doc: Document, source: string, path: PropertyKey[]): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as (string | number)[], true);
    if (isNode(node) && node.range) return lineColumnOf(source, node.range[0]);
  }
  return { line: 1, column: 1 };
}
