import { parseScenarioCell } from '../scenario-cell';
import { yamlString } from './names';
import type { CellKindModule } from './types';

/** YAML: what production runs (triggers and steps); checked against the notebook by scenario-analysis.ts. */
export const scenarioCell: CellKindModule<'scenario'> = {
  kind: 'scenario',
  built: false,
  analyse({ cell, base, diag }) {
    // Scenarios run in production: they add no edges to the graph of what the notebook builds.
    const scenario = parseScenarioCell(cell.source);
    for (const p of scenario.problems) diag(cell.id, p, p.code, p.message);
    return { cell, writes: null, reads: [], checked: null, node: { ...base, kind: 'scenario' }, scenario };
  },
  step: () => null,
  made: (source) => yamlString(source, 'name'),
};
