import type { FastifyInstance } from 'fastify';
import { countPredictRequest, scorePredictRequest, type PredictCaller, type PredictProgress } from '../../services/scoring/predict-request';
import { bearerSecret, createRequestCtx, requestWhere, type AppDeps } from '../context';
import { cookieJar } from '../cookies';
import { PredictResponseJsonSchema } from './model-routes';

/**
 * `POST /api/v1/endpoints/{name}/predict`, the scoring hot path: a plain fastify route, not the
 * generic REST handler, and a thin adapter over one service call (services/scoring/predict-request.ts).
 * With an API key it touches no database: the key (by sha256) and the endpoint (model version,
 * feature schema, loaded ONNX session) come from the process's scoring runtime, invalidated on
 * change (services/scoring/changes.ts); the key's last use is written in batches. A signed-in
 * browser takes the general path (session and membership read per request).
 * Records are validated while they become tensors (server/scoring/records.ts): a 400 names the
 * record index and field. The response is serialised by a compiled schema (fast-json-stringify).
 * Each request is counted with its latency (fastify's elapsed time, serialisation included) in the
 * runtime's in-memory request stats, written every few seconds (endpoints.stats reads them), and
 * each answered record in its prediction log, buffered and written every 2 s (drift reads it). An
 * endpoint's shadow version scores the same records after the answer is sent (logged, not returned).
 */
export function registerPredictRoute(app: FastifyInstance, deps: AppDeps): void {
  // How far each request got (its endpoint, its record count), for its request stats: a field every
  // request of this scope is made with (stable object shape), not a WeakMap entry per request.
  app.decorateRequest('predictProgress', null);

  app.route({
    method: 'POST',
    url: '/api/v1/endpoints/:name/predict',
    schema: { response: { 200: PredictResponseJsonSchema } },
    onResponse: (req, reply, done) => {
      countPredictRequest(deps.db, req.predictProgress ?? undefined, (req.params as { name?: unknown }).name, reply.statusCode, reply.elapsedTime);
      done();
    },
    handler: async (req, reply) => {
      const { name } = req.params as { name: string };
      const progress: PredictProgress = { endpointId: null, records: 0 };
      req.predictProgress = progress;
      const secret = bearerSecret(req.headers);
      const caller: PredictCaller =
        secret !== undefined ? { apiKey: secret, where: requestWhere(req) } : { ctx: () => createRequestCtx(deps, req, cookieJar(req, reply, deps.secureCookies ?? false)) };
      // A RecordInputError becomes a 400 listing each bad record and field (rest/plugin.ts sendError).
      return scorePredictRequest(deps.db, caller, name, req.body, req.id, progress);
    },
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the predict route's handler (null on every other request). */
    predictProgress: PredictProgress | null;
  }
}
