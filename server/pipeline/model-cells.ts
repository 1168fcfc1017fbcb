import { z } from 'zod';
import { ALGORITHM_LIST } from '@/server/ml/algorithms';
import { TrainSpec } from '@/server/ml/spec';
import { DATASET_NAME } from './text';
import { parseYamlSpec, type YamlSpecProblem } from './yaml-spec';

/** Model names follow the rule of API key scopes (`score:<endpoint>`): services/models checks the same. */
export const MODEL_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

const ModelName = z
  .string({ error: 'model is required: the model that gets the new version' })
  .regex(MODEL_NAME, { error: 'model must be a lowercase name (a-z, 0-9, _ and -; starting with a letter; at most 63 characters)' });
const DatasetName = (what: string) =>
  z.string({ error: `${what} is required` }).regex(DATASET_NAME, { error: `${what} must be a dataset name (a lowercase identifier: a-z, 0-9, _; starting with a letter)` });
/** YAML reads `positiveClass: 1` or `true` as a number or boolean; the trainer compares as strings. */
const PositiveClass = z
  .union([z.string(), z.number(), z.boolean()], { error: 'positiveClass is required: the target value that counts as positive ("bad", "yes", 1)' })
  .transform(String);

const trainCellFields = { model: ModelName, dataset: DatasetName('dataset'), positiveClass: PositiveClass };

/**
 * A `train` cell: which model gets the new version and which dataset it learns from, then the
 * TrainSpec (server/ml/spec.ts) inline:
 *
 *   model: credit-risk
 *   dataset: clean_loans
 *   target: status
 *   positiveClass: bad
 *   algorithm: gradient_boosted_trees
 *   params: { maxIter: 200 }
 */
const [firstAlgorithm, ...otherAlgorithms] = TrainSpec.options.map((option) => option.extend(trainCellFields).strict());
export const TrainCellSpec = z.discriminatedUnion('algorithm', [firstAlgorithm!, ...otherAlgorithms], {
  error: `algorithm must be ${ALGORITHM_LIST.map((a) => a.name).join(' or ')}`,
});
export type TrainCellSpec = z.output<typeof TrainCellSpec>;

/**
 * A `score` cell: scores every row of `dataset` with a model (the version trained by this notebook's
 * train cell of that model when there is one, else the registered champion; or a pinned `version`)
 * into the dataset `output`.
 */
export const ScoreCellSpec = z
  .object({
    model: ModelName,
    version: z.number({ error: 'version must be a version number' }).int('version must be a whole number').min(1, 'version must be at least 1').optional(),
    dataset: DatasetName('dataset'),
    output: DatasetName('output'),
  })
  .strict()
  .refine((s) => s.dataset !== s.output, { error: 'output must differ from dataset: write the scores to a new dataset', path: ['output'] });
export type ScoreCellSpec = z.output<typeof ScoreCellSpec>;

const TRAIN_FIELDS = ['model', 'dataset', 'target', 'positiveClass', 'algorithm', 'features', 'params', 'holdout', 'refit', 'categorical', 'threshold', 'grid', 'candidates', 'metric'] as const;
const SCORE_FIELDS = ['model', 'version', 'dataset', 'output'] as const;

type Pos = { line: number; column: number };
type Named = Pos & { name: string };

export type ParsedTrainCell = {
  model: Named | null;
  dataset: Named | null;
  /** The TrainSpec (defaults filled in), without the cell's model and dataset. */
  spec: TrainSpec | null;
  at: (path: (string | number)[]) => Pos;
  problems: YamlSpecProblem<'invalid-train'>[];
};

export function parseTrainCell(source: string): ParsedTrainCell {
  const r = parseYamlSpec(source, TrainCellSpec, { code: 'invalid-train', what: 'a train cell', fields: TRAIN_FIELDS });
  const names = salvageNames(r.raw, r.at, ['model', 'dataset']);
  if (!r.value) return { model: names.model, dataset: names.dataset, spec: null, at: r.at, problems: r.problems };
  const { model: _model, dataset: _dataset, ...spec } = r.value;
  return { model: names.model, dataset: names.dataset, spec, at: r.at, problems: [] };
}

export type ParsedScoreCell = {
  model: Named | null;
  dataset: Named | null;
  output: Named | null;
  version: number | null;
  problems: YamlSpecProblem<'invalid-score'>[];
};

export function parseScoreCell(source: string): ParsedScoreCell {
  const r = parseYamlSpec(source, ScoreCellSpec, { code: 'invalid-score', what: 'a score cell', fields: SCORE_FIELDS });
  const names = salvageNames(r.raw, r.at, ['model', 'dataset', 'output']);
  const output = names.output && names.output.name !== names.dataset?.name ? names.output : null;
  return { model: names.model, dataset: names.dataset, output, version: r.value?.version ?? null, problems: r.problems };
}

/**
 * The names a cell refers to, when they are valid, even if another field is wrong: the graph keeps
 * its edges while someone is still typing the rest.
 */
function salvageNames<K extends string>(raw: unknown, at: (path: string[]) => Pos, keys: K[]): Record<K, Named | null> {
  const out = {} as Record<K, Named | null>;
  const obj = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  for (const key of keys) {
    const v = obj[key];
    const valid = typeof v === 'string' && (key === 'model' ? MODEL_NAME : DATASET_NAME).test(v);
    out[key] = valid ? { name: v, ...at([key]) } : null;
  }
  return out;
}
