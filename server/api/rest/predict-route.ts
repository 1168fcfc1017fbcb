import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { outcomeOfStatus } from '../../scoring/request-stats';
import { MAX_PREDICT_RECORDS } from '../../services/endpoints/schemas';
import { EndpointName } from '../../services/models/schemas';
import type { ServiceCtx } from '../../services/context';
import { invalid, ServiceError, unauthenticated } from '../../services/errors';
import { authorize } from '../../services/policy';
import { explainPredictions } from '../../services/scoring/explain-records';
import { logPredictions, predictWithConfig } from '../../services/scoring/predict-records';
import { scoringRuntime, type EndpointConfig } from '../../services/scoring/runtime';
import { clientRequestIdOf, createRequestCtx, requestWhere, type AppDeps } from '../context';
import { cookieJar } from '../cookies';
import { PredictResponse } from './model-routes';

const SCORER = { kind: 'endpointScorer' } as const;

/**
 * `POST /api/v1/endpoints/{name}/predict`, the scoring hot path: a plain fastify route, not the
 * generic REST handler. With an API key it touches no database: the key (by sha256) and the
 * endpoint (model version, feature schema, loaded ONNX session) come from the process's scoring
 * runtime, invalidated on change (services/scoring/changes.ts); the key's last use is written in
 * batches. A signed-in browser takes the general path (session and membership read per request).
 * Records are validated while they become tensors (server/scoring/records.ts): a 400 names the
 * record index and field. The response is serialised by a compiled schema (fast-json-stringify).
 * Each request is counted with its latency (fastify's elapsed time, serialisation included) in the
 * runtime's in-memory request stats, written every few seconds (endpoints.stats reads them), and
 * each answered record in its prediction log, buffered and written every 2 s (drift reads it). An
 * endpoint's shadow version scores the same records after the answer is sent (logged, not returned).
 */
export function registerPredictRoute(app: FastifyInstance, deps: AppDeps): void {
  const runtime = scoringRuntime(deps.db);

  /**
   * The policy module decides, as for every route; with an API key it needs no database: the key
   * comes from the runtime's cache here and the endpoint from it inside the policy.
   */
  const authorised = async (req: FastifyRequest, reply: FastifyReply, name: string): Promise<EndpointConfig> => {
    const auth = req.headers.authorization;
    let ctx: ServiceCtx;
    if (typeof auth === 'string' && /^bearer /i.test(auth)) {
      const actor = await runtime.apiKey(auth.slice(7).trim());
      if (!actor) throw unauthenticated('the API key is unknown or revoked');
      ctx = { db: deps.db, actor, requestId: req.id, clientRequestId: clientRequestIdOf(req.headers), clientIp: req.ip };
    } else {
      ctx = await createRequestCtx(deps, req, cookieJar(req, reply, deps.secureCookies ?? false));
    }
    await authorize(ctx, SCORER, { name });
    if (ctx.actor?.type === 'apiKey') runtime.lastUsed.record(ctx.actor.keyId, requestWhere(req));
    return runtime.endpoint(name);
  };

  /** The endpoint and record count of requests that got as far as resolving their endpoint. */
  const served = new WeakMap<FastifyRequest, { endpointId: string; records: number }>();
  const countRequest = (req: FastifyRequest, reply: FastifyReply): void => {
    const ms = reply.elapsedTime;
    const outcome = outcomeOfStatus(reply.statusCode);
    const s = served.get(req);
    if (s) return runtime.requestStats.record(s.endpointId, outcome, s.records, ms);
    // Refused before its endpoint was resolved (credentials, body): counted if this process has
    // the endpoint loaded. Never a lookup: anonymous calls with made-up names must cost no query
    // and push no entry into the endpoint cache.
    const { name } = req.params as { name?: unknown };
    if (outcome === 'ok' || !EndpointName.safeParse(name).success) return;
    runtime.loadedEndpoint(name as string)?.then(
      (c) => runtime.requestStats.record(c.endpointId, outcome, 0, ms),
      () => undefined,
    );
  };

  app.route({
    method: 'POST',
    url: '/api/v1/endpoints/:name/predict',
    schema: { response: { 200: z.toJSONSchema(PredictResponse, { target: 'draft-7' }) } },
    onResponse: (req, reply, done) => {
      countRequest(req, reply);
      done();
    },
    handler: async (req, reply) => {
      const { name } = req.params as { name: string };
      const config = await authorised(req, reply, name);
      const stats = { endpointId: config.endpointId, records: 0 };
      served.set(req, stats);
      const records = recordsOf(req.body);
      const explain = explainOf(req.body);
      stats.records = records.length;
      // A RecordInputError becomes a 400 listing each bad record and field (rest/plugin.ts sendError).
      const result = await predictWithConfig(config, records);
      // Explanations only on request, on their own path (a 400 for a model that cannot be explained).
      const answer = explain ? await explainPredictions(deps.db, config, records, result) : result;
      logPredictions(runtime, config, records, result, req.id);
      return answer;
    },
  });
}

/** `"explain": true` asks for each record's feature contributions. */
function explainOf(body: unknown): boolean {
  const explain = (body as { explain?: unknown }).explain;
  if (explain === undefined || explain === false) return false;
  if (explain === true) return true;
  throw invalid('explain must be true or false', 'explain');
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
