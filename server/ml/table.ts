import { MlInputError } from './errors';
import { booleanWord } from '@/server/domain/boolean-words';
import type { CellValue, ColumnSchema, ColumnType, Table, Target } from './types';

/** y[i] for a row whose target is missing: such rows take no part in training or evaluation. */
export const MISSING_TARGET = 2;

export function rowCount(table: Table): number {
  let n: number | undefined;
  for (const { name } of table.schema) {
    const col = table.columns[name];
    if (!col) throw new MlInputError(`column "${name}" is in the schema but has no values`, name);
    if (n !== undefined && col.length !== n) {
      throw new MlInputError(`column "${name}" has ${col.length} values where the others have ${n}`, name);
    }
    n = col.length;
  }
  return n ?? 0;
}

export function columnOf(table: Table, name: string): { schema: ColumnSchema; values: readonly CellValue[] } {
  const schema = table.schema.find((c) => c.name === name);
  const values = table.columns[name];
  if (!schema || !values) throw new MlInputError(`column "${name}" does not exist`, name);
  return { schema, values };
}

/** Strings are compared with the positive class as they are; numbers and booleans as String(v). */
export function classOf(v: CellValue): string | null {
  if (v === null || v === '' || (typeof v === 'number' && Number.isNaN(v))) return null;
  return String(v);
}

/** The target as 0/1 (MISSING_TARGET where it is missing), and the name of the other class. */
export function targetVector(table: Table, name: string, positiveClass: string): { y: Uint8Array; target: Target } {
  const { schema, values } = columnOf(table, name);
  if (schema.type === 'boolean') return booleanTargetVector(schema, values, positiveClass);
  const y = new Uint8Array(values.length);
  const others = new Map<string, number>();
  let positives = 0;
  for (let i = 0; i < values.length; i++) {
    const c = classOf(values[i] ?? null);
    if (c === null) y[i] = MISSING_TARGET;
    else if (c === positiveClass) {
      y[i] = 1;
      positives++;
    } else {
      y[i] = 0;
      others.set(c, (others.get(c) ?? 0) + 1);
    }
  }
  if (positives === 0) throw new MlInputError(`the target "${name}" never has the positive class "${positiveClass}"`, 'positiveClass');
  if (others.size === 0) throw new MlInputError(`the target "${name}" has only the positive class "${positiveClass}"`, 'target');
  const negativeClass = others.size === 1 ? [...others.keys()][0]! : `not ${positiveClass}`;
  return { y, target: { name, positiveClass, negativeClass } };
}

/**
 * A boolean target: the positive class may be given in any boolean spelling ("yes", "True", "1");
 * the classes are named in the column's own words ("Yes"/"No" as the CSV had them), or
 * "true"/"false" when the column has none.
 */
function booleanTargetVector(schema: ColumnSchema, values: readonly CellValue[], positiveClass: string): { y: Uint8Array; target: Target } {
  const { name } = schema;
  const positive = booleanWord(positiveClass);
  const words = schema.booleanWords ?? ['true', 'false'];
  if (positive === null) {
    throw new MlInputError(`the target "${name}" is a yes/no column (${words.join('/')}): positiveClass must be one of them, not "${positiveClass}"`, 'positiveClass');
  }
  const y = new Uint8Array(values.length);
  const counts = [0, 0];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? null;
    const b = v === null || v === '' ? null : typeof v === 'boolean' ? v : typeof v === 'number' ? (v === 1 ? true : v === 0 ? false : null) : booleanWord(v);
    if (b === null) y[i] = MISSING_TARGET;
    else {
      y[i] = b === positive ? 1 : 0;
      counts[y[i]!]!++;
    }
  }
  const [pos, neg] = positive ? words : [words[1], words[0]];
  if (counts[1] === 0) throw new MlInputError(`the target "${name}" never has the positive class "${pos}"`, 'positiveClass');
  if (counts[0] === 0) throw new MlInputError(`the target "${name}" has only the positive class "${pos}"`, 'target');
  return { y, target: { name, positiveClass: pos, negativeClass: neg } };
}

/** A number from a numeric, integer or boolean column; NaN when missing. */
export function numberOf(v: CellValue, column: string, row: number): number {
  if (v === null) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const s = v.trim();
  if (s === '') return NaN;
  const lower = s.toLowerCase();
  if (lower === 'true' || lower === 't') return 1;
  if (lower === 'false' || lower === 'f') return 0;
  const x = Number(s);
  if (Number.isNaN(x)) throw new MlInputError(`column "${column}", row ${row + 1}: ${JSON.stringify(v)} is not a number`, column);
  return x;
}

/**
 * The category of a value. Missing values are the category "" (the empty string): an ONNX string
 * tensor cannot hold a null, so scoring clients' nulls become "" as well.
 */
export function categoryOf(v: CellValue | undefined): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : String(v);
}

/** A column type for values whose type is not known (a parsed CSV): numbers, booleans or categories. */
export function inferColumnType(values: readonly CellValue[]): ColumnType {
  let numbers = 0;
  let integers = 0;
  let booleans = 0;
  let others = 0;
  for (const v of values) {
    if (v === null) continue;
    if (typeof v === 'number') {
      numbers++;
      if (Number.isInteger(v)) integers++;
    } else if (typeof v === 'boolean') booleans++;
    else others++;
  }
  if (others > 0 || numbers + booleans === 0) return 'categorical';
  if (booleans > 0) return numbers === 0 ? 'boolean' : 'categorical';
  return integers === numbers ? 'integer' : 'numeric';
}

export function inferSchema(columns: Record<string, readonly CellValue[]>): ColumnSchema[] {
  return Object.entries(columns).map(([name, values]) => ({ name, type: inferColumnType(values) }));
}
