import { isMap, isNode, isScalar, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { closestName, lineColumnOf } from './text';

type Pos = { line: number; column: number };
export type YamlSpecProblem<C extends string> = Pos & { code: C | 'invalid-yaml'; message: string };
export type ParsedYamlSpec<T, C extends string> = {
  /** The validated spec, or null when there are problems. */
  value: T | null;
  /** The document as plain data (even when invalid), to salvage names for the graph while someone types. */
  raw: unknown;
  /** Where a path of the document is: the value itself, or its nearest existing parent. */
  at: (path: (string | number)[]) => Pos;
  problems: YamlSpecProblem<C>[];
};

/**
 * Parses a declarative cell's YAML and validates it with its zod schema; every problem comes back
 * with the line and column of the YAML it is about. `fields` (the top-level keys the schema knows)
 * turns an unknown key into "did you mean".
 */
export function parseYamlSpec<S extends z.ZodType, C extends string>(
  source: string,
  schema: S,
  options: { code: C; what: string; fields: readonly string[] },
): ParsedYamlSpec<z.output<S>, C> {
  const doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true });
  const at = (path: (string | number)[]) => positionOf(doc, source, path);
  if (doc.errors.length) {
    return {
      value: null,
      raw: null,
      at,
      problems: doc.errors.map((e) => ({ code: 'invalid-yaml' as const, message: `invalid YAML: ${e.message.split('\n')[0]}`, ...lineColumnOf(source, e.pos[0]) })),
    };
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { value: null, raw, at, problems: [{ code: options.code, message: `${options.what} is YAML with the fields ${options.fields.join(', ')}`, line: 1, column: 1 }] };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { value: parsed.data, raw, at, problems: [] };
  const problems: YamlSpecProblem<C>[] = [];
  for (const issue of parsed.error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const guess = path.length === 0 ? closestName(key, options.fields) : null;
        const where = path.length ? `${path.join('.')}: ` : '';
        problems.push({ code: options.code, message: `${where}unknown field "${key}"${guess ? `: did you mean "${guess}"?` : ''}`, ...keyPosition(doc, source, path, key) });
      }
      continue;
    }
    // Our own messages name their field ("model is required"); zod's generic ones need the path.
    const named = path.length > 0 && issue.message.startsWith(`${String(path[path.length - 1])} `);
    const where = path.length && !named ? `${path.join('.')}: ` : '';
    problems.push({ code: options.code, message: `${where}${issue.message}`, ...at(path) });
  }
  return { value: null, raw, at, problems };
}

/** The line of the deepest YAML node on `path` that exists: the value itself, or its parent when a key is missing. */
export function positionOf(doc: Document, source: string, path: (string | number)[]): Pos {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineColumnOf(source, node.range[0]);
  }
  return { line: 1, column: 1 };
}

function keyPosition(doc: Document, source: string, path: (string | number)[], key: string): Pos {
  const map = path.length ? doc.getIn(path, true) : doc.contents;
  if (isMap(map)) {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isNode(pair.key) && pair.key.range) return lineColumnOf(source, pair.key.range[0]);
  }
  return positionOf(doc, source, path);
}
