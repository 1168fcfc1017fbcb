import { z } from 'zod';
import { Duration } from '@/server/pipeline/scenario-cell';
import { EndpointRef } from '../endpoints/schemas';

const DatasetName = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: 'dataset must be a dataset name (lowercase identifier)' });

/** The window of logged predictions compared with the reference: the last `24h` (a duration), or an interval. */
export const DriftWindow = z.union([
  z.object({ last: Duration }).strict(),
  z
    .object({ since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }) })
    .strict()
    .refine((w) => Date.parse(w.since) < Date.parse(w.until), { error: 'since must be before until' }),
]);
export type DriftWindow = z.input<typeof DriftWindow>;

/**
 * Where the true outcomes arrive: a dataset of the project with a key column (matched with the
 * logged record's field of the same name, `id` by default: clients send it with each record) and a
 * label column (compared with the model's positive class as text).
 */
export const DriftLabels = z
  .object({
    dataset: DatasetName,
    key: z.string().min(1).default('id'),
    label: z.string().min(1),
    environment: z.enum(['design', 'production']).default('production'),
  })
  .strict();
export type DriftLabels = z.output<typeof DriftLabels>;

export const ComputeDriftInput = EndpointRef.extend({ window: DriftWindow.prefault({ last: '24h' }), labels: DriftLabels.optional() });
export const EndpointDriftInput = EndpointRef.extend({ limit: z.number().int().min(1).max(500).default(100) });
