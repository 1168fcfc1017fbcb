import { analyzeTrainCell } from '../model-cell-analysis';
import { yamlString } from './names';
import type { CellKindModule } from './types';

/** YAML: the model that gets a new version, the dataset it learns from, the TrainSpec (model-cells.ts). */
export const trainCell: CellKindModule<'train'> = {
  kind: 'train',
  built: true,
  analyse: ({ cell, base, sources, diag }) => analyzeTrainCell(cell, base, sources, diag),
  step: (a, after) =>
    a.node.kind === 'train' && a.node.spec && a.trains && a.reads[0] ? { cellId: a.cell.id, kind: 'train', dataset: a.reads[0].name, model: a.trains.name, after } : null,
  made(source) {
    const model = yamlString(source, 'model');
    return model ? `train ${model}` : null;
  },
};
