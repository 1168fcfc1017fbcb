import { parseDocument } from 'yaml';
import { readHeaders } from '../headers';

/** A top-level string of a YAML cell, or null (also when the text is not YAML yet). */
export function yamlString(source: string, key: string): string | null {
  try {
    const v: unknown = parseDocument(source).get(key);
    return typeof v === 'string' && v.trim() ? v.trim() : null;
  } catch {
    return null;
  }
}

/** A header's value (`-- writes: x`, `// output: x`), or null. */
export function headerValue(source: string, comment: '--' | '//' | '#', key: string): string | null {
  const v = readHeaders(source, comment).get(key)?.value.trim();
  return v ? v : null;
}

export const uniqueSorted = (refs: readonly { name: string }[]): string[] => [...new Set(refs.map((r) => r.name))].sort();
