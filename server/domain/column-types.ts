import type { DatasetColumnType } from '@/db/schema';
import { booleanWord } from '@/server/domain/boolean-words';

/**
 * What each column type is in Postgres, how a CSV or JSON value is recognised as one, and how it is
 * written for COPY (FORMAT csv). Integers are bigint, numerics double precision (analytics and
 * models want floats), timestamps timestamptz read as UTC when they carry no offset.
 */
export const pgTypeOf: Record<DatasetColumnType, string> = {
  integer: 'bigint',
  numeric: 'double precision',
  boolean: 'boolean',
  timestamp: 'timestamptz',
  text: 'text',
};

/**
 * Pure rules (no I/O, one type-only import): the upload dialog imports this module too, so the
 * types it suggests before an upload are the ones the server infers.
 */

/** CSV cells read as NULL. */
export const isNullCell = (v: string) => v === '' || v === 'NA';

/** Column names from CSV headers: lowercase identifiers, made unique (`status`, `status_2`). */
export function normaliseHeaders(raw: string[]): string[] {
  const seen = new Map<string, number>();
  return raw.map((h, i) => {
    let name = h
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 60);
    if (!name) name = `column_${i + 1}`;
    if (!/^[a-z]/.test(name)) name = `c_${name}`;
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

const INTEGER = /^[+-]?\d+$/;
const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;
const INT8_MAX = 9223372036854775807n;

function isInteger(v: string): boolean {
  if (!INTEGER.test(v)) return false;
  if (v.length < 19) return true;
  const digits = v.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '');
  if (digits.length < 19) return true;
  if (digits.length > 19) return false;
  const n = BigInt(v.replace(/^\+/, ''));
  return n <= INT8_MAX && n >= -INT8_MAX - 1n;
}

function isNumeric(v: string): boolean {
  // Only an exponent can overflow a double; skip the conversion otherwise.
  return NUMERIC.test(v) && ((v.length < 300 && v.indexOf('e') === -1 && v.indexOf('E') === -1) || Number.isFinite(Number(v)));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const digit = (v: string, i: number) => {
  const c = v.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
};
const two = (v: string, i: number) => {
  const a = digit(v, i);
  const b = digit(v, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
};

/** `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` without offset, checked by hand: the common shapes, fast. */
function commonTimestamp(v: string): boolean | null {
  if ((v.length !== 10 && v.length !== 19) || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return null;
  const y1 = two(v, 0);
  const y2 = two(v, 2);
  const month = two(v, 5);
  const day = two(v, 8);
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1) return null;
  const year = y1 * 100 + y2;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return false;
  if (v.length === 10) return true;
  const sep = v.charCodeAt(10);
  if ((sep !== 32 && sep !== 84) || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return null;
  const h = two(v, 11);
  const mi = two(v, 14);
  const sec = two(v, 17);
  return h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60;
}

function isTimestamp(v: string): boolean {
  const quick = commonTimestamp(v);
  if (quick !== null) return quick;
  const m = TIMESTAMP.exec(v);
  if (!m) return false;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return false;
  return (m[4] === undefined || +m[4] < 24) && (m[5] === undefined || +m[5] < 60) && (m[6] === undefined || +m[6] < 60);
}

/** Boolean words only: 0/1 columns infer as integer, but an explicit boolean column accepts them. */
const booleanOf = (v: string, strict: boolean): boolean | null => booleanWord(v, strict);

export function accepts(type: DatasetColumnType, v: string): boolean {
  switch (type) {
    case 'integer':
      return isInteger(v);
    case 'numeric':
      return isNumeric(v);
    case 'boolean':
      return booleanOf(v, false) !== null;
    case 'timestamp':
      return isTimestamp(v);
    case 'text':
      return true;
  }
}

const inferenceOrder = ['boolean', 'integer', 'numeric', 'timestamp'] as const;

/** Narrows a column's candidate types with one more non-null sample value. */
export class TypeInference {
  private candidates = new Set<(typeof inferenceOrder)[number]>(inferenceOrder);
  private seen = false;
  observe(v: string): void {
    this.seen = true;
    for (const t of this.candidates) {
      const ok = t === 'boolean' ? booleanOf(v, true) !== null : accepts(t, v);
      if (!ok) this.candidates.delete(t);
    }
  }
  result(): DatasetColumnType {
    if (!this.seen) return 'text';
    return inferenceOrder.find((t) => this.candidates.has(t)) ?? 'text';
  }
}

/** The narrowest type every non-null value fits; `text` when nothing else does or all are null. */
export function inferType(values: Iterable<string>): DatasetColumnType {
  const inference = new TypeInference();
  for (const v of values) if (!isNullCell(v)) inference.observe(v);
  return inference.result();
}

/** The value as one CSV field for COPY. Only call with a value `accepts` said yes to. */
export function csvField(type: DatasetColumnType, v: string): string {
  switch (type) {
    case 'integer':
    case 'numeric':
      return v.startsWith('+') ? v.slice(1) : v;
    case 'boolean':
      return booleanOf(v, false) ? 't' : 'f';
    case 'timestamp':
      return v;
    case 'text':
      // Always quoted: an unquoted empty field is NULL, and a quoted one can hold anything.
      return v.indexOf('"') === -1 ? `"${v}"` : `"${v.replace(/"/g, '""')}"`;
  }
}

export function describeType(type: DatasetColumnType): string {
  switch (type) {
    case 'integer':
      return 'an integer';
    case 'numeric':
      return 'a number';
    case 'boolean':
      return 'a boolean (true/false, yes/no, t/f, 1/0)';
    case 'timestamp':
      return 'a timestamp (YYYY-MM-DD[ HH:MM[:SS]][offset])';
    case 'text':
      return 'text';
  }
}

/** A JSON value for a column (row appends). Returns the SQL parameter or an error message. */
export function jsonValue(type: DatasetColumnType, v: unknown): { ok: true; value: string | number | boolean } | { ok: false; message: string } {
  const bad = { ok: false as const, message: `expected ${describeType(type)}, got ${JSON.stringify(v)?.slice(0, 60) ?? String(v)}` };
  switch (type) {
    case 'integer':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return { ok: true, value: v };
      if (typeof v === 'string' && isInteger(v)) return { ok: true, value: v };
      return bad;
    case 'numeric':
      return typeof v === 'number' && Number.isFinite(v) ? { ok: true, value: v } : bad;
    case 'boolean': {
      // The words a CSV upload reads as booleans (yes/no, t/f, 1/0...), as the message says, or JSON booleans.
      const b = typeof v === 'boolean' ? v : typeof v === 'string' ? booleanOf(v, false) : null;
      return b === null ? bad : { ok: true, value: b };
    }
    case 'timestamp':
      return typeof v === 'string' && isTimestamp(v) ? { ok: true, value: v } : bad;
    case 'text':
      return typeof v === 'string' ? { ok: true, value: v } : bad;
  }
}
