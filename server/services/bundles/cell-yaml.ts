import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

/** A user's mistake in a declarative cell, at a 1-based line and column inside the cell. */
export type CellProblem = { code: 'invalid-yaml' | 'invalid-cell'; message: string; line: number; column: number };

export type ParsedYaml<T> = { ok: true; value: T } | { ok: false; problems: CellProblem[] };

/**
 * Parses a YAML cell and validates it with `schema`; every problem points at the line of the YAML
 * node it is about (the key's value, else the closest parent that exists, else line 1).
 */
export function parseYamlCell<S extends z.ZodType>(source: string, schema: S): ParsedYaml<z.output<S>> {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { code: 'invalid-yaml', message: e.message.split('\n')[0]!, line: pos.line, column: pos.col };
      }),
    };
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((i) => {
      // An unknown key is reported on its own line, not on the mapping's.
      const at = i.code === 'unrecognized_keys' && i.keys[0] !== undefined ? [...i.path, i.keys[0]] : i.path;
      const pos = positionOf(doc, lines, at as (string | number)[]);
      const where = i.path.length ? `${i.path.join('.')}: ` : '';
      return { code: 'invalid-cell', message: `${where}${i.message}`, ...pos };
    }),
  };
}

function positionOf(doc: Document, lines: LineCounter, path: (string | number)[]): { line: number; column: number } {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const p = lines.linePos(node.range[0]);
      return { line: p.line, column: p.col };
    }
  }
  return { line: 1, column: 1 };
}
