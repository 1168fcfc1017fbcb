import { datasetNameProblem } from './text';

/**
 * Cell header comments: the lines at the top of a cell that are blank or comments. A `sql` cell
 * names what it writes with `-- writes: name`; a `ts` cell declares `// inputs: a, b` and
 * `// output: x`; a `python` cell `# inputs: a, b` and `# output: x`.
 */
export type HeaderValue = { value: string; line: number; column: number };

export function readHeaders(source: string, commentPrefix: '--' | '//' | '#'): Map<string, HeaderValue> {
  const found = new Map<string, HeaderValue>();
  const lines = source.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith(commentPrefix)) break;
    const m = /^(\s*)(--|\/\/|#)\s*([a-z_]+)\s*:\s*(.*?)\s*$/i.exec(raw);
    if (!m) continue;
    const key = m[3]!.toLowerCase();
    if (found.has(key)) continue;
    const colon = raw.indexOf(':');
    const afterColon = raw.slice(colon + 1);
    const valueStart = colon + 1 + afterColon.length - afterColon.trimStart().length;
    found.set(key, { value: m[4]!, line: i + 1, column: valueStart + 1 });
  }
  return found;
}

export type NameProblem = { line: number; column: number; message: string };

export function parseNameList(h: HeaderValue): { names: { name: string; line: number; column: number }[]; problems: NameProblem[] } {
  const names: { name: string; line: number; column: number }[] = [];
  const problems: NameProblem[] = [];
  let col = h.column;
  for (const part of h.value.split(',')) {
    const lead = part.length - part.trimStart().length;
    const name = part.trim();
    if (name) {
      const problem = datasetNameProblem(name);
      if (problem) problems.push({ line: h.line, column: col + lead, message: `"${name}": ${problem}` });
      else names.push({ name, line: h.line, column: col + lead });
    }
    col += part.length + 1;
  }
  return { names, problems };
}
