import type { Ref } from '../analysis-types';
import { parseNameList, readHeaders } from '../headers';
import { datasetNameProblem } from '../text';
import { headerValue, uniqueSorted } from './names';
import type { CellKindModule } from './types';

/**
 * A cell of code that reads its `inputs:` and writes its `output:` (headers in the language's line
 * comment): ts and python cells are built from this.
 */
export function scriptCellKind<K extends 'ts' | 'python'>(kind: K, comment: '//' | '#'): CellKindModule<K> {
  return {
    kind,
    built: true,
    analyse({ cell, base, diag }) {
      const headers = readHeaders(cell.source, comment);
      const out = headers.get('output');
      let writes: Ref | null = null;
      if (!out || !out.value) {
        diag(cell.id, out ?? { line: 1, column: 1 }, 'missing-header', `start the cell with "${comment} output: <dataset>" (and "${comment} inputs: a, b" for what it reads)`);
      } else {
        const problem = datasetNameProblem(out.value);
        if (problem) diag(cell.id, out, 'invalid-dataset-name', `"${out.value}": ${problem}`);
        else writes = { name: out.value, line: out.line, column: out.column };
      }
      const inputs = headers.get('inputs');
      const reads: Ref[] = [];
      if (inputs) {
        const { names, problems } = parseNameList(inputs);
        for (const p of problems) diag(cell.id, p, 'invalid-dataset-name', p.message);
        reads.push(...names);
      }
      return { cell, writes, reads, checked: null, node: { ...base, kind, writes: writes?.name ?? '', reads: uniqueSorted(reads) } };
    },
    step: (a, after) => (a.writes ? { cellId: a.cell.id, kind, dataset: a.writes.name, after } : null),
    made: (source) => headerValue(source, comment, 'output'),
  };
}
