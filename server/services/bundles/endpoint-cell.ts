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
 * threshold: 0.35             # optional: label = positive class when its probability is >= 0.35
 * ```
 */
export const EndpointCellSpec = z.strictObject(
  {
    name: EndpointName,
    model: ModelName,
    description: z.string({ error: 'description must be text' }).max(2000, 'description must be at most 2000 characters').default(''),
    threshold: z.number({ error: 'threshold must be a number between 0 and 1' }).min(0, 'threshold must be between 0 and 1').max(1, 'threshold must be between 0 and 1').optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown key ${i.keys.map((k) => `"${k}"`).join(', ')} (an endpoint cell has name, model, description, threshold)` : 'an endpoint cell is a YAML mapping with name, model, description and optionally threshold') },
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
