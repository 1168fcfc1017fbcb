import { z } from 'zod';
import { EndpointName, ModelName, VersionNumber } from '../models/schemas';
import { Uuid } from '../teams/schemas';
import { MODEL_NAME } from '@/server/pipeline/model-cells';

/** An endpoint's decision threshold on the positive-class probability. */
export const Threshold = z.number({ error: 'threshold must be a number between 0 and 1' }).min(0, 'threshold must be between 0 and 1').max(1, 'threshold must be between 0 and 1');

export const EndpointRef = z.object({ projectId: Uuid('projectId'), name: EndpointName });
export const ListEndpointsInput = z.object({ projectId: Uuid('projectId') });
export const CreateEndpointInput = EndpointRef.extend({
  model: ModelName,
  /** Pin a version; omitted or null: serve the model's champion, following it when it changes. */
  version: VersionNumber.nullable().optional(),
  description: z.string().max(2000, 'description must be at most 2000 characters').default(''),
  /** The decision threshold (label = positive class when p >= it); omitted or null: the model's own label. */
  threshold: Threshold.nullable().optional(),
});
export const UpdateEndpointInput = EndpointRef.extend({
  model: ModelName.optional(),
  /** A number pins that version; null follows the champion; omitted keeps what it was. */
  version: VersionNumber.nullable().optional(),
  /** A number shadow-scores that version (not the served one); null stops it; omitted keeps it (a model change clears it). */
  shadowVersion: VersionNumber.nullable().optional(),
  description: z.string().max(2000, 'description must be at most 2000 characters').optional(),
  /** A number sets the decision threshold; null goes back to the model's own label; omitted keeps it. */
  threshold: Threshold.nullable().optional(),
});

export const MAX_PREDICT_RECORDS = 10_000;
export const PredictInput = z.object({
  endpoint: EndpointName,
  records: z
    .array(z.unknown(), { error: 'records must be a list of feature objects' })
    .min(1, 'records must hold at least one record')
    .max(MAX_PREDICT_RECORDS, `at most ${MAX_PREDICT_RECORDS} records per request`),
  /** Each record's top feature contributions (trained versions only). */
  explain: z.boolean({ error: 'explain must be true or false' }).optional(),
});

/**
 * The endpoint and records of an input `PredictInput` accepts without explanations, checked by hand
 * (the scoring fast path's, where the schema's parse was a measurable part of a call); null for any
 * other input (the caller then parses it with `PredictInput`, which phrases the error). Never
 * accepts what `PredictInput` refuses: a unit test holds them together.
 */
export function plainPredictInput(input: unknown): { endpoint: string; records: unknown[] } | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  const { endpoint, records, explain } = input as { endpoint?: unknown; records?: unknown; explain?: unknown };
  if (typeof endpoint !== 'string' || !MODEL_NAME.test(endpoint)) return null;
  if (!Array.isArray(records) || records.length < 1 || records.length > MAX_PREDICT_RECORDS) return null;
  if (explain !== undefined && explain !== false) return null;
  return { endpoint, records };
}

export const shadowWindows = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
const shadowWindowNames = Object.keys(shadowWindows) as (keyof typeof shadowWindows)[];
/**
 * Where the true outcomes of logged predictions arrive: a dataset of the project with a key column
 * (matched with the logged record's field of the same name, `id` by default: clients send it with
 * each record) and a label column (compared with the model's positive class as text).
 */
export const PredictionLabels = z
  .object({
    dataset: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'dataset must be a dataset name (lowercase identifier)' }),
    key: z.string().min(1).default('id'),
    label: z.string().min(1),
    environment: z.enum(['design', 'production']).default('production'),
  })
  .strict();

export const ShadowComparisonInput = EndpointRef.extend({
  window: z.object({ last: z.enum(shadowWindowNames, { error: `window.last must be one of ${shadowWindowNames.join(', ')}` }) }).prefault({ last: '24h' }),
  /** With labels: the AUC of the served and of the shadow scores on the labelled records. */
  labels: PredictionLabels.optional(),
});

export const statsRanges = ['1h', '24h', '7d'] as const;
export const EndpointStatsInput = EndpointRef.extend({ range: z.enum(statsRanges, { error: `range must be one of ${statsRanges.join(', ')}` }).default('1h') });
