import type { DatasetColumnType } from '@/db/schema';

/**
 * Checks of a field's bytes that answer "accepted" only where column-types.ts's `accepts` would, for
 * the common shapes, without making a string; `false` means "not sure": the caller decodes the value
 * and asks `accepts`, which has the last word (and the error message). What passes here is also
 * what Postgres reads as the same value (bigint, float8, boolean, timestamptz input), so the field
 * goes to COPY as written.
 */
export function acceptsBytes(type: DatasetColumnType, b: Buffer, s: number, e: number): boolean {
  switch (type) {
    case 'integer':
      return isShortInteger(b, s, e);
    case 'numeric':
      return isPlainNumber(b, s, e);
    case 'boolean':
      return booleanBytes(b, s, e) !== -1;
    case 'timestamp':
      return isCommonTimestamp(b, s, e);
    case 'text':
      return true;
  }
}

const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;
const isSign = (c: number | undefined) => c === 43 || c === 45;

/** `[+-]?\d+` with fewer than 19 digits: within bigint whatever the digits. */
function isShortInteger(b: Buffer, s: number, e: number): boolean {
  let i = isSign(b[s]) ? s + 1 : s;
  if (i === e || e - i >= 19) return false;
  for (; i < e; i++) if (!isDigit(b[i])) return false;
  return true;
}

/** `[+-]?(\d+\.?\d*|\.\d+)` under 300 bytes: no exponent, so always a finite double. */
function isPlainNumber(b: Buffer, s: number, e: number): boolean {
  if (e - s >= 300) return false;
  let i = isSign(b[s]) ? s + 1 : s;
  let digits = 0;
  let dot = false;
  for (; i < e; i++) {
    const c = b[i];
    if (isDigit(c)) digits++;
    else if (c === 46 && !dot) dot = true;
    else return false;
  }
  return digits > 0;
}

/** 1 for true/t/yes/y/1, 0 for false/f/no/n/0 (any case), -1 otherwise: boolean-words.ts's words. */
export function booleanBytes(b: Buffer, s: number, e: number): number {
  // `| 0x20` lowercases an ASCII letter (and maps no other byte to one).
  const c0 = b[s]! | 0x20;
  switch (e - s) {
    case 1:
      if (b[s] === 49 || c0 === 116 || c0 === 121) return 1;
      if (b[s] === 48 || c0 === 102 || c0 === 110) return 0;
      return -1;
    case 2:
      return c0 === 110 && (b[s + 1]! | 0x20) === 111 ? 0 : -1;
    case 3:
      return c0 === 121 && (b[s + 1]! | 0x20) === 101 && (b[s + 2]! | 0x20) === 115 ? 1 : -1;
    case 4:
      return c0 === 116 && (b[s + 1]! | 0x20) === 114 && (b[s + 2]! | 0x20) === 117 && (b[s + 3]! | 0x20) === 101 ? 1 : -1;
    case 5:
      return c0 === 102 && (b[s + 1]! | 0x20) === 97 && (b[s + 2]! | 0x20) === 108 && (b[s + 3]! | 0x20) === 115 && (b[s + 4]! | 0x20) === 101 ? 0 : -1;
    default:
      return -1;
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two digits at i as a number, -1 if either is not a digit. */
const two = (b: Buffer, i: number) => (isDigit(b[i]) && isDigit(b[i + 1]) ? (b[i]! - 48) * 10 + b[i + 1]! - 48 : -1);

/** `YYYY-MM-DD` or `YYYY-MM-DD[ T]HH:MM:SS` (no offset), a real date and time. */
function isCommonTimestamp(b: Buffer, s: number, e: number): boolean {
  const len = e - s;
  if ((len !== 10 && len !== 19) || b[s + 4] !== 45 || b[s + 7] !== 45) return false;
  const y1 = two(b, s);
  const y2 = two(b, s + 2);
  const month = two(b, s + 5);
  const day = two(b, s + 8);
  if (y1 < 0 || y2 < 0 || month < 1 || month > 12 || day < 1) return false;
  const year = y1 * 100 + y2;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return false;
  if (len === 10) return true;
  const sep = b[s + 10];
  if ((sep !== 32 && sep !== 84) || b[s + 13] !== 58 || b[s + 16] !== 58) return false;
  const h = two(b, s + 11);
  const mi = two(b, s + 14);
  const sec = two(b, s + 17);
  return h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60;
}
