import { z } from 'zod';
import { Duration } from '@/server/pipeline/scenario-cell';
import { EndpointRef, PredictionLabels } from '../endpoints/schemas';

/** The window of logged predictions compared with the reference: the last `24h` (a duration), or an interval. */
export const DriftWindow = z.union([
  z.object({ last: Duration }).strict(),
  z
    .object({ since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }) })
    .strict()
    .refine((w) => Date.parse(w.since) < Date.parse(w.until), { error: 'since must be before until' }),
]);
export type DriftWindow = z.input<typeof DriftWindow>;

/** Where the true outcomes arrive (see PredictionLabels). */
export const DriftLabels = PredictionLabels;
export type DriftLabels = z.output<typeof DriftLabels>;

export const ComputeDriftInput = EndpointRef.extend({ window: DriftWindow.prefault({ last: '24h' }), labels: DriftLabels.optional() });
export const EndpointDriftInput = EndpointRef.extend({ limit: z.number().int().min(1).max(500).default(100) });
