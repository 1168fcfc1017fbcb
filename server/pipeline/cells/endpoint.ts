import { parseDocument } from 'yaml';
import { yamlString } from './names';
import type { CellKindModule } from './types';

/** YAML: a production scoring endpoint; checked when a bundle is collected (services/bundles/endpoint-cell.ts). */
export const endpointCell: CellKindModule<'endpoint'> = {
  kind: 'endpoint',
  built: false,
  analyse: ({ cell, base }) => ({ cell, writes: null, reads: [], checked: null, node: { ...base, kind: 'endpoint' }, serves: modelOfEndpointCell(cell.source) }),
  step: () => null,
  made: (source) => yamlString(source, 'name'),
};

/** The model an endpoint cell serves, when it names one (a scenario's retrain step may refer to it). */
function modelOfEndpointCell(source: string): string | null {
  try {
    const model: unknown = parseDocument(source).get('model');
    return typeof model === 'string' ? model : null;
  } catch {
    return null;
  }
}
