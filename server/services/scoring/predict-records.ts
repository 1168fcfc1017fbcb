import type { z } from 'zod';
import { RecordInputError, predict } from '@/server/scoring/session-cache';
import type { ServiceCtx } from '../context';
import { invalid } from '../errors';
import type { PredictInput } from '../endpoints/schemas';
import { scoringRuntime, type EndpointConfig } from './runtime';

/** Bad scoring records (index and field); the edges answer 400. */
export { RecordInputError };

export type ScoredRecord = { label: string; probabilities: Record<string, number>; modelVersion: number };
export type PredictResult = { endpoint: string; model: string; modelVersion: number; predictions: ScoredRecord[] };

/**
 * Scores records with one resolved endpoint config: one session, one schema, one version for the
 * whole request, so a switch of version mid-request cannot mix them. Throws RecordInputError
 * (record index and field) for bad records.
 */
export async function predictWithConfig(config: EndpointConfig, records: readonly unknown[]): Promise<PredictResult> {
  const scored = await predict(config.session, config.schema, records);
  const { negativeClass: neg, positiveClass: pos, version } = config;
  return {
    endpoint: config.name,
    model: config.modelName,
    modelVersion: version,
    predictions: scored.map((p) => ({ label: p.label, probabilities: { [neg]: p.probabilities.neg, [pos]: p.probabilities.pos }, modelVersion: version })),
  };
}

/** tRPC `scoring.predict`: the same path as the REST route, after the policy has run. */
export async function predictRecords({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof PredictInput> }): Promise<PredictResult> {
  const config = await scoringRuntime(ctx.db).endpoint(input.endpoint);
  try {
    return await predictWithConfig(config, input.records);
  } catch (err) {
    if (err instanceof RecordInputError) throw invalid(err.message, err.field);
    throw err;
  }
}
