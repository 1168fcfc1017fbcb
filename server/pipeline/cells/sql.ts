import type { Ref } from '../analysis-types';
import { readHeaders } from '../headers';
import { analyzeSelect } from '../sql';
import { datasetNameProblem, lineColumnOf } from '../text';
import { headerValue, uniqueSorted } from './names';
import type { CellKindModule } from './types';

/** `-- writes: name` then one SELECT, parsed by the real Postgres parser for what it reads. */
export const sqlCell: CellKindModule<'sql'> = {
  kind: 'sql',
  built: true,
  analyse({ cell, base, diag }) {
    const w = readHeaders(cell.source, '--').get('writes');
    let writes: Ref | null = null;
    // Without `-- writes:` the cell is a scratch query: it can be previewed and charted, and builds
    // nothing (no step, no dataset; a bundle carries its text like a markdown cell's).
    if (w && !w.value) {
      diag(cell.id, w, 'missing-writes', 'name the dataset after "-- writes:", or remove the line to keep the cell a scratch query');
    } else if (w) {
      const problem = datasetNameProblem(w.value);
      if (problem) diag(cell.id, w, 'invalid-dataset-name', `"${w.value}": ${problem}`);
      else writes = { name: w.value, line: w.line, column: w.column };
    }
    const analysis = analyzeSelect(cell.source);
    for (const p of analysis.problems) diag(cell.id, lineColumnOf(cell.source, p.offset), p.code, p.message);
    const reads = analysis.reads.map((r) => ({ name: r.name, ...lineColumnOf(cell.source, r.offset) }));
    return { cell, writes, reads, checked: null, node: { ...base, kind: 'sql', writes: writes?.name ?? '', reads: uniqueSorted(reads), sql: analysis.statement ?? '' } };
  },
  step: (a, after) => (a.writes ? { cellId: a.cell.id, kind: 'sql', dataset: a.writes.name, after } : null),
  made: (source) => headerValue(source, '--', 'writes'),
};
