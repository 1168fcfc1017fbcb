import type { Analyzed, Pos, Ref } from '../analysis-types';
import { parseCheckCell } from '../check-cell';
import { analyzeSelect } from '../sql';
import { closestName, lineColumnOf } from '../text';
import { yamlString } from './names';
import type { AnalyseInput, CellKindModule } from './types';

/**
 * YAML checks on one dataset (check-cell.ts): folded into the build of that dataset, before it is
 * published; a check cell on a source is a step of its own.
 */
export const checkCell: CellKindModule<'check'> = {
  kind: 'check',
  built: true,
  analyse: analyzeCheckCell,
  step: (a, after) => (a.checked ? { cellId: a.cell.id, kind: 'check', dataset: a.checked.name, after } : null),
  made(source) {
    const dataset = yamlString(source, 'dataset');
    return dataset ? `checks on ${dataset}` : null;
  },
};

function analyzeCheckCell({ cell, base, sources, diag }: AnalyseInput): Analyzed {
  const parsed = parseCheckCell(cell.source);
  for (const p of parsed.problems) diag(cell.id, p, p.code, p.message);
  const reads: Ref[] = [];
  const source = parsed.dataset ? sources.get(parsed.dataset.name) : undefined;
  const posOf = (check: number, field: string) => parsed.positions.find((p) => p.check === check && p.field === field) ?? parsed.dataset ?? { line: 1, column: 1 };
  for (const [i, check] of parsed.checks.entries()) {
    // Columns are known at compile time for sources; built datasets get theirs when they are built.
    if (source) {
      const columns = source.columns.map((c) => c.name);
      const named = 'column' in check ? [check.column] : check.type === 'unique' ? check.columns : [];
      for (const col of named) {
        if (columns.includes(col)) continue;
        const guess = closestName(col, columns);
        diag(cell.id, posOf(i, check.type === 'unique' ? 'columns' : 'column'), 'invalid-check', `"${source.name}" has no column "${col}"${guess ? `: did you mean "${guess}"?` : ''}`);
      }
    }
    if (check.type === 'custom_sql') {
      const at = posOf(i, 'sql');
      const analysis = analyzeSelect(check.sql);
      // A block scalar (`sql: |`) starts on the line after its indicator; a plain one on the key's line.
      const blockScalar = 'blockScalar' in at && at.blockScalar;
      const shift = (offset: number): Pos => {
        const p = lineColumnOf(check.sql, Math.min(offset, check.sql.trimEnd().length));
        if (blockScalar) {
          const line = at.line + p.line;
          const text = cell.source.split('\n')[line - 1] ?? '';
          return { line, column: text.length - text.trimStart().length + p.column };
        }
        return p.line === 1 ? { line: at.line, column: at.column + p.column - 1 } : { line: at.line + p.line - 1, column: p.column };
      };
      for (const p of analysis.problems) diag(cell.id, shift(p.offset), p.code, `check ${check.name}: ${p.message}`);
      for (const r of analysis.reads) reads.push({ name: r.name, ...shift(r.offset) });
    }
  }
  return {
    cell,
    writes: null,
    reads,
    checked: parsed.dataset,
    node: { ...base, kind: 'check', dataset: parsed.dataset?.name ?? '', checks: parsed.checks },
  };
}
