/**
 * One cell value as text. Values are always rendered as React text, never as HTML: a result is user
 * data, and a stored `<img onerror=...>` must show as those characters (stored XSS through outputs).
 */
const timestamp = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** The viewer's time zone, for titles ("in Europe/Berlin"). */
export const viewerTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

export function formatTimestamp(v: unknown): string {
  if (typeof v !== 'string' && typeof v !== 'number') return String(v);
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : timestamp.format(d);
}

/** Display text of a non-null value of a column type; null is the caller's (shown as a NULL chip). */
export function formatValue(v: unknown, type: string): string {
  if (type === 'timestamp') return formatTimestamp(v);
  // Numbers as stored (no grouping, full precision): what a copy gives and what SQL would compare.
  if (typeof v === 'number') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The raw value as copied to the clipboard: ISO timestamps, full precision, empty for NULL. */
export function copyText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Orders two values of one column: NULLs last, numbers numerically, timestamps by time. */
export function compareValues(a: unknown, b: unknown, type: string): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (type === 'timestamp') return new Date(String(a)).getTime() - new Date(String(b)).getTime();
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return String(a).localeCompare(String(b));
}
