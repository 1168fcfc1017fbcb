import { z } from 'zod';
import { MODEL_NAME } from '@/server/pipeline/model-cells';
import { DatasetName, EnvironmentSchema } from '../datasets/schemas';
import { Uuid } from '../teams/schemas';

/**
 * Model and endpoint names follow the rule of API key scopes (`score:<endpoint>`): lowercase,
 * starting with a letter, letters, digits, `_` and `-`.
 */
const NAME = MODEL_NAME;
const NAME_RULE = 'a lowercase name (a-z, 0-9, _ and -; starting with a letter; at most 63 characters)';
export const ModelName = z.string({ error: 'name is required' }).regex(NAME, { error: `name must be ${NAME_RULE}` });
export const EndpointName = z.string({ error: 'endpoint name is required' }).regex(NAME, { error: `endpoint name must be ${NAME_RULE}` });
export const VersionNumber = z.coerce.number({ error: 'version must be a number' }).int('version must be a whole number').min(1, 'version must be at least 1');

export const ModelRef = z.object({ projectId: Uuid('projectId'), name: ModelName });
export const ModelVersionRef = ModelRef.extend({ version: VersionNumber });
export const ListModelsInput = z.object({ projectId: Uuid('projectId') });

/** The spec is checked by server/ml's TrainSpec (defaults filled in there); here only its shape. */
export const TrainModelInput = z.object({
  projectId: Uuid('projectId'),
  modelName: ModelName,
  dataset: DatasetName,
  environment: EnvironmentSchema.default('design'),
  spec: z.record(z.string(), z.unknown(), { error: 'spec must be an object (a train spec)' }),
});
export type TrainModelInput = z.input<typeof TrainModelInput>;

export const TrainingRef = z.object({ projectId: Uuid('projectId'), trainingId: Uuid('trainingId') });

export const ImportModelQuery = z.object({
  /** For files whose classes are numbers or where the positive class is not the second one. */
  positiveClass: z.string().min(1).max(200).optional(),
  /**
   * The feature names of a packed `[N, k]` input, in column order, separated by commas (or a JSON
   * array): records then name each column. Not needed when the file has `feature_names` metadata.
   */
  features: z.string().min(1).max(20_000).optional(),
});

export const SetChampionInput = ModelVersionRef;

export const ScoreDatasetInput = z
  .object({
    projectId: Uuid('projectId'),
    /** Score with what this endpoint serves now... */
    endpoint: EndpointName.optional(),
    /** ...or with this model's champion, or one of its versions. */
    model: ModelName.optional(),
    version: VersionNumber.optional(),
    dataset: DatasetName,
    output: DatasetName,
    environment: EnvironmentSchema.default('design'),
  })
  .refine((v) => (v.endpoint === undefined) !== (v.model === undefined), { error: 'give either endpoint or model', path: ['model'] })
  .refine((v) => v.version === undefined || v.model !== undefined, { error: 'version needs model', path: ['version'] })
  .refine((v) => v.dataset !== v.output, { error: 'output must differ from dataset', path: ['output'] });
export type ScoreDatasetInput = z.input<typeof ScoreDatasetInput>;

export const EvaluateVersionInput = z.object({
  projectId: Uuid('projectId'),
  name: ModelName,
  version: z.number().int().min(1),
  /** A dataset of the project holding the version's feature columns and its target. */
  dataset: DatasetName,
  environment: EnvironmentSchema.default('design'),
});
export const ListEvaluationsInput = z.object({ projectId: Uuid('projectId'), name: ModelName });
