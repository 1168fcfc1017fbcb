import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { RequestOutcome } from '@/server/scoring/request-stats';
import { RecordInputError, predict } from '@/server/scoring/session-cache';
import type { ServiceCtx } from '../context';
import { predictionDuration, predictions } from '@/server/metrics/registry';
import type { CounterSeries, HistogramSeries } from '@/server/metrics/series';
import { invalid, ServiceError } from '../errors';
import { explainPredictions } from './explain-records';
import type { PredictInput } from '../endpoints/schemas';
import { scoringRuntime, type EndpointConfig, type ScoringRuntime } from './runtime';
import { labelAtThreshold } from './endpoint-config';

/** Bad scoring records (index and field); the edges answer 400. */
export { RecordInputError };

export type ScoredRecord = { label: string; probabilities: Record<string, number>; modelVersion: number };
/** `bundle`: the hash of the deployed bundle a production endpoint serves, null for design endpoints. */
export type PredictResult = { endpoint: string; model: string; modelVersion: number; bundle: string | null; predictions: ScoredRecord[] };

/**
 * Scores records with one resolved endpoint config: one session, one schema, one version for the
 * whole request, so a switch of version mid-request cannot mix them. Throws RecordInputError
 * (record index and field) for bad records.
 */
export async function predictWithConfig(config: EndpointConfig, records: readonly unknown[]): Promise<PredictResult> {
  const started = performance.now();
  const scored = await predict(config.session, config.schema, records, config.offload);
  const series = seriesOf(config);
  series.duration.observe((performance.now() - started) / 1000);
  series.predictions.inc(scored.length);
  const { negativeClass: neg, positiveClass: pos, version, threshold } = config;
  return {
    endpoint: config.name,
    model: config.modelName,
    modelVersion: version,
    bundle: config.bundleHash,
    predictions: scored.map((p) => ({
      label: labelAtThreshold(threshold, p.label, p.probabilities.pos, config),
      probabilities: { [neg]: p.probabilities.neg, [pos]: p.probabilities.pos },
      modelVersion: version,
    })),
  };
}

/** An endpoint config's Prometheus series, looked up once per config (configs are cached and shared). */
const configSeries = new WeakMap<EndpointConfig, { duration: HistogramSeries; predictions: CounterSeries }>();

function seriesOf(config: EndpointConfig): { duration: HistogramSeries; predictions: CounterSeries } {
  let s = configSeries.get(config);
  if (!s) configSeries.set(config, (s = { duration: predictionDuration.labels(config.name), predictions: predictions.labels(config.name, String(config.version)) }));
  return s;
}

/**
 * Notes a successful request's records and answers in the prediction log (memory only: the
 * recorder writes them in batches off the request path), and, when the endpoint has a shadow
 * version, schedules their shadow scoring (after the answer; see shadow-scorer.ts). A served row
 * and its shadow row share a pair id: a random id per request and the record's index (request ids
 * are only unique within a process).
 */
export function logPredictions(runtime: ScoringRuntime, config: EndpointConfig, records: readonly unknown[], result: PredictResult, requestId: string | null): void {
  const log = runtime.predictionLog;
  if (!log.enabled) return;
  const at = Date.now();
  const pos = config.positiveClass;
  const pairBase = config.shadow ? randomUUID() : null;
  const pairIds: string[] = [];
  for (let i = 0; i < records.length; i++) {
    const p = result.predictions[i]!;
    const pairId = pairBase === null ? null : `${pairBase}:${i}`;
    if (pairId !== null) pairIds.push(pairId);
    log.record({
      endpointId: config.endpointId,
      versionId: config.versionId,
      bundleHash: config.bundleHash,
      at,
      requestId,
      record: records[i],
      probability: p.probabilities[pos]!,
      label: p.label,
      pairId,
    });
  }
  if (pairBase !== null) runtime.shadow.score(config, records, pairIds, requestId);
}

/**
 * tRPC `scoring.predict`: the same path as the REST route, after the policy has run. Counted in the
 * endpoint's request stats like a REST request; its latency is the scoring's (from here on), the
 * tRPC adapter's own time is not in it.
 */
export async function predictRecords({ ctx, input }: { ctx: ServiceCtx; input: z.output<typeof PredictInput> }): Promise<PredictResult> {
  const started = performance.now();
  const runtime = scoringRuntime(ctx.db);
  const config = await runtime.endpoint(input.endpoint);
  let outcome: RequestOutcome = 'serverError';
  try {
    const result = await predictWithConfig(config, input.records);
    const answer = input.explain ? await explainPredictions(ctx.db, config, input.records, result) : result;
    outcome = 'ok';
    logPredictions(runtime, config, input.records, result, ctx.requestId);
    return answer;
  } catch (err) {
    if (err instanceof RecordInputError || (err instanceof ServiceError && err.kind === 'Invalid')) {
      outcome = 'clientError';
      if (err instanceof ServiceError) throw err;
      throw invalid(err.message, err.field);
    }
    throw err;
  } finally {
    runtime.requestStats.record(config.endpointId, outcome, input.records.length, performance.now() - started);
  }
}
