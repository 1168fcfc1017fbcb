import { z } from 'zod';
import { EndpointName, ModelName } from '../models/schemas';
import { parseYamlCell, type ParsedYaml } from './cell-yaml';

/**
 * An `endpoint` cell: a real-time scoring API production serves once the bundle is deployed.
 *
 * ```yaml
 * name: credit-score          # the URL: /api/v1/endpoints/credit-score/predict (unique per instance)
 * model: credit_risk          # served at the version the bundle pins (the model's champion at promotion)
 * description: Scores loan applications
 * ```
 */
export const EndpointCellSpec = z.strictObject(
  {
    name: EndpointName,
    model: ModelName,
    description: z.string({ error: 'description must be text' }).max(2000, 'description must be at most 2000 characters').default(''),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown key ${i.keys.map((k) => `"${k}"`).join(', ')} (an endpoint cell has name, model, description)` : 'an endpoint cell is a YAML mapping with name, model and description') },
);
export type EndpointCellSpec = z.output<typeof EndpointCellSpec>;

export function parseEndpointCell(source: string): ParsedYaml<EndpointCellSpec> {
  return parseYamlCell(source, EndpointCellSpec);
}

/**
 * The model a `train` or `score` cell names. Only `model:` is read here: the rest of those cells
 * belongs to the compiler, whose schemas are still being written.
 */
const ModelCellHead = z.looseObject({ model: ModelName }, { error: 'the cell must be a YAML mapping naming its model (model: <name>)' });

export function parseModelOfCell(source: string): ParsedYaml<string> {
  const r = parseYamlCell(source, ModelCellHead);
  return r.ok ? { ok: true, value: r.value.model } : r;
}
