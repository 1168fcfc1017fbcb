import { invalid, type ServiceError } from '../services/errors';

// Postgres cannot store a NUL in text (`invalid byte sequence for encoding "UTF8": 0x00`) nor in
// jsonb (`unsupported Unicode escape sequence`), and jsonb refuses an unpaired UTF-16 surrogate,
// which JSON.stringify writes as `\ud800`. Audit details and notebook cells are jsonb, so a name
// that text would take still fails as a detail. Without this check each of them was a 500.
// eslint-disable-next-line no-control-regex -- matching NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function describe(s: string): string {
  return s.includes('\u0000') ? 'a NUL character (\\u0000)' : 'an unpaired UTF-16 surrogate';
}

/**
 * The first string (or object key) in a request's input that the database cannot store, as a 400
 * naming its field in the path notation of validation errors (`cells.2.source`), or null. Walks
 * without recursion: a deeply nested JSON body must not overflow the stack.
 */
export function unstorableTextError(input: unknown, prefix = ''): ServiceError | null {
  return mayHoldUnstorableText(input) ? firstUnstorableText(input, prefix) : null;
}

/**
 * False when no string or key in the input is unstorable: the common answer, found without a path
 * string and an entries array per field (the walk below builds them only once one is). Maps and
 * Sets are left to that walk.
 */
function mayHoldUnstorableText(input: unknown): boolean {
  const stack: unknown[] = [input];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return true;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (value instanceof Map || value instanceof Set) return true;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (UNSTORABLE.test(key)) return true;
      stack.push((value as Record<string, unknown>)[key]);
    }
  }
  return false;
}

function firstUnstorableText(input: unknown, prefix: string): ServiceError | null {
  const stack: { value: unknown; path: string }[] = [{ value: input, path: prefix }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) return refusal(path, value);
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    const entries: [string, unknown][] = value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v]) : value instanceof Set ? [...value].map((v, i) => [String(i), v]) : Object.entries(value);
    // Reversed onto the stack, so the first bad field in document order is the one named.
    for (const [key, v] of entries.reverse()) {
      const at = path ? `${path}.${key}` : key;
      if (UNSTORABLE.test(key)) return refusal(at, key);
      stack.push({ value: v, path: at });
    }
  }
  return null;
}

function refusal(path: string, value: string): ServiceError {
  const field = path || 'input';
  return invalid(`${field}: must not contain ${describe(value)}, which cannot be stored`, field);
}
