import { z } from 'zod';
import { CheckCellSpec, ScenarioCellSpec, ScoreCellSpec, TrainCellSpec } from '@/server/pipeline';

/** The zod schema of each declarative (YAML) cell kind that has one: the ones the compiler checks. */
const cellSpecs = { check: CheckCellSpec, train: TrainCellSpec, score: ScoreCellSpec, scenario: ScenarioCellSpec } as const;

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
