import type { Db } from '@/db/client';
import { outcomeOfStatus } from '@/server/scoring/request-stats';
import type { ServiceCtx } from '../context';
import { MAX_PREDICT_RECORDS } from '../endpoints/schemas';
import { invalid, ServiceError, unauthenticated } from '../errors';
import { EndpointName } from '../models/schemas';
import { authorizeEndpointScorer, keyScorableEndpoint, knownKeyScorableEndpoint } from './endpoint-scorer';
import { explainPredictions } from './explain-records';
import { logPredictions, predictWithConfig, type PredictResult } from './predict-records';
import { scoringRuntime, type EndpointConfig } from './runtime';

/**
 * One predict request, whatever edge it came through: `scorePredictRequest` is the whole REST
 * route (`POST /api/v1/endpoints/{name}/predict`) and `scoreForApiKey` the fast path of tRPC
 * `scoring.predict`. With an API key nothing touches the database: the key (by sha256) and the
 * endpoint (config and loaded ONNX session) come from the scoring runtime's caches, looked up once
 * each, and the key's use, the request's stats and its predictions are noted in memory and written
 * in batches.
 */

/** Who asks. */
export type PredictCaller =
  /** An `Authorization: Bearer` secret; `where` is its last use as the key list shows it. */
  | { apiKey: string; where: string | null }
  /** Anyone else (a signed-in browser): the request's general context, built on demand. */
  | { ctx: () => Promise<ServiceCtx> };

/** How far a request got, for its request stats: its endpoint once resolved, its record count once read. */
export type PredictProgress = { endpointId: string | null; records: number };

/**
 * Authorises the caller for the endpoint (the policy's endpointScorer rule), reads the
 * `{"records": [...]}` body, scores the records and notes them in the prediction log. Throws
 * ServiceErrors (401 unknown key, 404 endpoint, 403 scope, 400 body, 413 too many records) and
 * RecordInputError (record index and field) for the edge to answer.
 */
export async function scorePredictRequest(
  db: Db,
  caller: PredictCaller,
  name: string,
  body: unknown,
  requestId: string,
  progress: PredictProgress,
): Promise<PredictResult | Awaited<ReturnType<typeof explainPredictions>>> {
  const runtime = scoringRuntime(db);
  const config = knownScorableEndpoint(db, caller, name) ?? (await scorableEndpoint(db, caller, name));
  progress.endpointId = config.endpointId;
  const records = recordsOf(body);
  const explain = explainOf(body);
  progress.records = records.length;
  const result = await predictWithConfig(config, records);
  // Explanations only on request, on their own path (a 400 for a model that cannot be explained).
  const answer = explain ? await explainPredictions(db, config, records, result) : result;
  logPredictions(runtime, config, records, result, requestId);
  return answer;
}

/** `"explain": true` asks for each record's feature contributions. */
function explainOf(body: unknown): boolean {
  const explain = (body as { explain?: unknown }).explain;
  if (explain === undefined || explain === false) return false;
  if (explain === true) return true;
  throw invalid('explain must be true or false', 'explain');
}

/**
 * `scorableEndpoint` for an API key whose answer and endpoint the runtime holds already, without an
 * await (the same checks and errors, the key's use noted the same way); undefined when a look-up
 * is needed, or for any other caller.
 */
function knownScorableEndpoint(db: Db, caller: PredictCaller, name: string): EndpointConfig | undefined {
  if (!('apiKey' in caller)) return undefined;
  const runtime = scoringRuntime(db);
  const known = runtime.knownApiKey(caller.apiKey);
  if (!known) return undefined;
  if (!known.actor) throw unauthenticated('the API key is unknown or revoked');
  const config = knownKeyScorableEndpoint(db, known.actor, name);
  if (config) runtime.lastUsed.record(known.actor.keyId, caller.where);
  return config;
}

async function scorableEndpoint(db: Db, caller: PredictCaller, name: string): Promise<EndpointConfig> {
  const runtime = scoringRuntime(db);
  if ('apiKey' in caller) {
    const actor = await runtime.apiKey(caller.apiKey);
    if (!actor) throw unauthenticated('the API key is unknown or revoked');
    const config = await keyScorableEndpoint(db, actor, name);
    runtime.lastUsed.record(actor.keyId, caller.where);
    return config;
  }
  const ctx = await caller.ctx();
  await authorizeEndpointScorer(ctx, { name });
  return runtime.endpoint(name);
}

/**
 * Counts a finished predict request in its endpoint's request stats (latency `ms`, serialisation
 * included). One refused before its endpoint was resolved (credentials, name) is counted if this
 * process has the endpoint loaded; never a lookup: anonymous calls with made-up names must cost no
 * query and push no entry into the endpoint cache.
 */
export function countPredictRequest(db: Db, progress: PredictProgress | undefined, name: unknown, status: number, ms: number): void {
  const runtime = scoringRuntime(db);
  const outcome = outcomeOfStatus(status);
  if (progress?.endpointId) return runtime.requestStats.record(progress.endpointId, outcome, progress.records, ms);
  if (outcome === 'ok' || !EndpointName.safeParse(name).success) return;
  runtime.loadedEndpoint(name as string)?.then(
    (c) => runtime.requestStats.record(c.endpointId, outcome, 0, ms),
    () => undefined,
  );
}

/**
 * tRPC `scoring.predict` for an API key, on the same cached path, for calls that succeed: the
 * records scored and logged, the key's use and the request counted (its latency the scoring's, as
 * `predictRecords` counts it). Null, with nothing noted or counted, for every call that would be an
 * error (unknown key, endpoint, scope, bad record, failed run): the caller then takes the general
 * path, which answers it exactly as before. `records` is the already validated input.
 */
export async function scoreForApiKey(db: Db, secret: string, where: string | null, name: string, records: readonly unknown[], requestId: string): Promise<PredictResult | null> {
  const runtime = scoringRuntime(db);
  let config: EndpointConfig;
  let keyId: string;
  let result: PredictResult;
  let started: number;
  try {
    const actor = runtime.knownApiKey(secret)?.actor ?? (await runtime.apiKey(secret));
    if (!actor) return null;
    keyId = actor.keyId;
    config = knownKeyScorableEndpoint(db, actor, name) ?? (await keyScorableEndpoint(db, actor, name));
    started = performance.now();
    result = await predictWithConfig(config, records);
  } catch {
    return null;
  }
  runtime.lastUsed.record(keyId, where);
  logPredictions(runtime, config, records, result, requestId);
  runtime.requestStats.record(config.endpointId, 'ok', records.length, performance.now() - started);
  return result;
}

/** The envelope, checked by hand: `{"records": [...]}` with 1 to MAX_PREDICT_RECORDS entries. */
function recordsOf(body: unknown): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('the body must be a JSON object {"records": [{...}, ...]}', 'body');
  const records = (body as { records?: unknown }).records;
  if (records === undefined) throw invalid('records is required: a list of feature objects', 'records');
  if (!Array.isArray(records)) throw invalid('records must be a list of feature objects', 'records');
  if (records.length === 0) throw invalid('records must hold at least one record', 'records');
  if (records.length > MAX_PREDICT_RECORDS) throw new ServiceError('PayloadTooLarge', `at most ${MAX_PREDICT_RECORDS} records per request; send ${records.length} in several`);
  return records;
}
