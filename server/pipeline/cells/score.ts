import { analyzeScoreCell } from '../model-cell-analysis';
import { yamlString } from './names';
import type { CellKindModule } from './types';

/** YAML: scores every row of a dataset with a model into an output dataset (model-cells.ts). */
export const scoreCell: CellKindModule<'score'> = {
  kind: 'score',
  built: true,
  analyse: ({ cell, base, diag }) => analyzeScoreCell(cell, base, diag),
  step: (a, after) => (a.writes && a.uses && a.reads[0] ? { cellId: a.cell.id, kind: 'score', dataset: a.writes.name, model: a.uses.name, after } : null),
  made: (source) => yamlString(source, 'output'),
};
