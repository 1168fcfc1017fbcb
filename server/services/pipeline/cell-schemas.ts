import { z } from 'zod';
import { TrainSpec } from '@/server/ml/spec';
import { CheckCellSpec } from '@/server/pipeline/check-cell';
import { DatasetName } from '../datasets/schemas';
import { ModelName } from '../models/schemas';

/**
 * A `train` cell: which model gets the new version and which dataset it learns from, then the
 * TrainSpec (server/ml/spec.ts) inline. No parser of train cells exists yet; this is the shape the
 * editor offers until one does (and should be the one that parser checks).
 */
export const TrainCellSpec = z.discriminatedUnion(
  'algorithm',
  TrainSpec.options.map((o) => o.extend({ model: ModelName, dataset: DatasetName })) as unknown as [
    (typeof TrainSpec.options)[0],
    (typeof TrainSpec.options)[1],
  ],
);

/** The zod schema of each declarative (YAML) cell kind that has one. */
const cellSpecs = { check: CheckCellSpec, train: TrainCellSpec } as const;

export type CellSchemas = Record<keyof typeof cellSpecs, Record<string, unknown>>;

let cached: CellSchemas | undefined;

/**
 * JSON Schemas of the declarative cells, for the editor's YAML validation, completion and hover.
 * `io: 'input'`: what an author may write (defaults optional). Refinements (row_count needs min or
 * max) have no JSON Schema form and are left to the compiler's diagnostics.
 */
export function cellSchemas(): CellSchemas {
  cached ??= Object.fromEntries(
    Object.entries(cellSpecs).map(([kind, schema]) => [kind, z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>]),
  ) as CellSchemas;
  return cached;
}
