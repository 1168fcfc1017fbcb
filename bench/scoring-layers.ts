/**
 * What each layer of a one-record predict costs, in CPU microseconds per call (this process's user +
 * system time: robust to a busy machine, unlike wall time), in process (no sockets):
 * a logistic regression trained on credit_data.csv behind an endpoint with a `score:` key. Each
 * layer is timed on its own over `--calls` calls (after as many warm-up calls), best of 3; the
 * whole-request rows interleaved, best of 5 rounds of `--calls` / 10:
 *   - the bare route's work: tensors from the record, `session.run`, the answer object,
 *   - `predict()`: record validation into tensor columns, the run, labels and probabilities,
 *   - `predictWithConfig()`: that plus the Prometheus counters and the response object,
 *   - key + endpoint: the bearer key and the endpoint from the runtime's caches and the policy's
 *     endpointScorer rule (`keyScorableEndpoint`), then the key's last use noted; and the same as the
 *     route did it before (a context, the generic `authorize`, a second endpoint lookup),
 *   - the prediction log's note of the record (`logPredictions`),
 *   - a request's four Prometheus observations, with prom-client's label objects (as before) and with
 *     our series looked up by label values (the hot path keeps them per route and endpoint config),
 *   - the response: fast-json-stringify with the route's schema, and JSON.stringify,
 *   - the app's security headers on a response head: set on the raw response (before: Node's
 *     writeHead then takes its slow path) and among fastify's reply headers (now),
 *   - whole requests through `app.inject`: our REST route and tRPC `scoring.predict` in the full app
 *     (hooks: security headers, CSRF check, HTTP metrics, cookies, request ids), and the bare route
 *     in a plain fastify app (inject's own cost is in both: the difference is what the app adds);
 *     and `GET /api/live` in both, what the app's per-request hooks cost without any scoring.
 *
 *   npx tsx bench/scoring-layers.ts [--calls 20000]
 *   npm run bench scoring-layers
 */
import { createReadStream } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Fastify from 'fastify';
import fastJson from 'fast-json-stringify';
import { Counter, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { openDatabase } from '../db/client';
import { buildApp } from '../server/app';
import { commonSecurityHeaders } from '../server/api/security-headers';
import { LIVENESS_PATH } from '../server/health';
import { VERSION } from '../server/version';
import { httpRequestDuration, httpRequests, predictionDuration, predictions } from '../server/metrics/registry';
import { PredictResponse } from '../server/api/rest/model-routes';
import { predict } from '../server/scoring/session-cache';
import { createApiKey } from '../server/services/api-keys/create-api-key';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { createEndpoint } from '../server/services/endpoints/create-endpoint';
import { trainModelVersion } from '../server/services/models/train-model-version';
import { authorize } from '../server/api/authorize';
import { keyScorableEndpoint } from '../server/services/scoring/endpoint-scorer';
import { logPredictions, predictWithConfig } from '../server/services/scoring/predict-records';
import { scoringRuntime } from '../server/services/scoring/runtime';
import { createPostgresDatabase } from '../tests/helpers/db';
import { sharedDataFile } from '../tests/helpers/data';
import { numberOption } from './aims';
import { howRun } from './compiled';
import { benchProject, disposeBenchDatabase } from './bench-db';
import { bareScore, CREDIT_RECORD } from './bench-http';

const CALLS = numberOption('calls', 0, 20_000);
const RECORD = CREDIT_RECORD;

/**
 * CPU microseconds (user + system of this process) per call of `fn` over `calls` calls: on a
 * shared machine wall time mostly measures the wait for a core, CPU time the work done.
 */
async function cpuPerCall(fn: () => unknown, calls: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < calls; i++) await fn();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

/** Best of 3 runs (after one warm-up run). */
async function time(fn: () => unknown, calls = CALLS): Promise<number> {
  let best = Infinity;
  for (let run = 0; run < 4; run++) {
    const us = await cpuPerCall(fn, calls);
    if (run > 0) best = Math.min(best, us);
  }
  return best;
}

/** The same for several targets, interleaved: each round runs each target once; best per target. */
async function timeInterleaved(targets: (() => unknown)[], calls: number, rounds = 5): Promise<number[]> {
  const best = targets.map(() => Infinity);
  for (let round = 0; round <= rounds; round++) {
    for (const [i, fn] of targets.entries()) {
      const us = await cpuPerCall(fn, calls);
      if (round > 0) best[i] = Math.min(best[i]!, us);
    }
  }
  return best;
}

const securityHeaders = Object.fromEntries(Object.entries(commonSecurityHeaders).map(([name, value]) => [name.toLowerCase(), value]));
const headRequest = Object.assign(new IncomingMessage(new Socket()), { method: 'POST', httpVersionMajor: 1, httpVersionMinor: 1 });

function setRawHeaders(res: ServerResponse): void {
  for (const name in commonSecurityHeaders) res.setHeader(name, commonSecurityHeaders[name]!);
}

/** The headers as fastify's `reply.headers()` keeps them: one `reply.header()` (key lower-cased) each. */
function replyHeaders(headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const key of Object.keys(headers)) kept[key.toLowerCase()] = headers[key]!;
  return kept;
}

/** A response head as fastify writes it for a JSON answer, after `before` ran and with `headers` as its reply headers. */
function answerHead(before: (res: ServerResponse) => void, headers: Record<string, string>): ServerResponse {
  const res = new ServerResponse(headRequest);
  before(res);
  res.getHeader('content-type');
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = '186';
  res.writeHead(200, headers);
  return res;
}

async function main() {
  const pgdb = await createPostgresDatabase();
  const database = await openDatabase({ url: pgdb.url, poolSize: 10 });
  try {
    await database.migrate();
    const db = database.db;
    const { ctx, projectId } = await benchProject(db, 'Scoring');
    await uploadDataset({ ctx, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(sharedDataFile('credit_data.csv')) });
    await trainModelVersion({ ctx, input: { projectId, modelName: 'lr', dataset: 'credit', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } } });
    await createEndpoint({ ctx: { ...ctx, actor: { type: 'system', name: 'bench' } }, input: { projectId, name: 'bench-lr', model: 'lr', description: '' } });
    const key = await createApiKey({ ctx, input: { projectId, name: 'lr', scopes: ['score:bench-lr'] } });
    const runtime = scoringRuntime(db);
    const config = await runtime.endpoint('bench-lr');
    const { schema, session } = config;
    const records = [RECORD];
    const body = JSON.stringify({ records });

    const bareWork = async () => {
      const rs = (JSON.parse(body) as { records: Record<string, unknown>[] }).records;
      return bareScore(session, schema, rs);
    };
    const result = await predictWithConfig(config, records);
    const serialize = fastJson(z.toJSONSchema(PredictResponse, { target: 'draft-7' }) as Parameters<typeof fastJson>[0]);

    const keyActor = (await runtime.apiKey(key.secret))!;
    const rows: [string, number][] = [];
    rows.push(['bare route work (parse, tensors, run, answer)', await time(bareWork)]);
    rows.push(['predict(): validation, tensors, run, labels', await time(() => predict(session, schema, records))]);
    rows.push(['predictWithConfig(): + metrics, response object', await time(() => predictWithConfig(config, records))]);
    rows.push([
      'key + endpoint from the caches, policy rule, last use',
      await time(async () => {
        const a = await runtime.apiKey(key.secret);
        await keyScorableEndpoint(db, a ?? keyActor, 'bench-lr');
        runtime.lastUsed.record(keyActor.keyId, 'POST /api/v1/endpoints/bench-lr/predict from 127.0.0.1');
      }),
    ]);
    rows.push([
      'the same as before: ctx, authorize(), the endpoint again',
      await time(async () => {
        const a = await runtime.apiKey(key.secret);
        await authorize({ db, actor: a, requestId: 'req-1', clientRequestId: null, clientIp: '127.0.0.1' }, { kind: 'endpointScorer' }, { name: 'bench-lr' });
        runtime.lastUsed.record(keyActor.keyId, 'POST /api/v1/endpoints/bench-lr/predict from 127.0.0.1');
        await runtime.endpoint('bench-lr');
      }),
    ]);
    rows.push(['prediction log note (logPredictions)', await time(() => logPredictions(runtime, config, records, result, 'req-1'))]);
    // A request's Prometheus observations (HTTP count and duration, prediction count and duration):
    // prom-client's inc/observe with label objects, as before, and the series kept per label set now.
    const prom = new Registry();
    const promRequests = new Counter({ name: 'b_requests_total', help: 'x', labelNames: ['route', 'method', 'status'], registers: [prom] });
    const promDuration = new Histogram({
      name: 'b_request_seconds',
      help: 'x',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [prom],
    });
    const promPredictions = new Counter({ name: 'b_predictions_total', help: 'x', labelNames: ['endpoint', 'model_version'], registers: [prom] });
    const promPredictDuration = new Histogram({
      name: 'b_predict_seconds',
      help: 'x',
      labelNames: ['endpoint'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [prom],
    });
    const route = '/api/v1/endpoints/:name/predict';
    const [promUs, seriesUs] = await timeInterleaved(
      [
        () => {
          promPredictDuration.observe({ endpoint: 'bench-lr' }, 0.0001);
          promPredictions.inc({ endpoint: 'bench-lr', model_version: String(config.version) }, 1);
          promRequests.inc({ route, method: 'POST', status: String(200) });
          promDuration.observe({ route, method: 'POST' }, 0.0004);
        },
        () => {
          predictionDuration.labels('bench-lr').observe(0.0001);
          predictions.labels('bench-lr', String(config.version)).inc(1);
          httpRequests.labels(route, 'POST', String(200)).inc();
          httpRequestDuration.labels(route, 'POST').observe(0.0004);
        },
      ],
      CALLS,
    );
    rows.push(['metrics: prom-client, label objects (before)', promUs!]);
    rows.push(['metrics: our series by label values (now)', seriesUs!]);
    runtime.predictionLog.enabled = false;
    rows.push(['response: fast-json-stringify (route schema)', await time(() => serialize(result))]);
    rows.push(['response: JSON.stringify', await time(() => JSON.stringify(result))]);
    // The app's common security headers on an answer as fastify writes it (a look-up of its content
    // type, then writeHead with its own headers): set on the raw response, as before, Node's writeHead
    // takes its slow path; among fastify's reply headers, as now, its fast one.
    const [rawHeadersUs, replyHeadersUs] = await timeInterleaved([() => answerHead((res) => setRawHeaders(res), {}), () => answerHead(() => undefined, replyHeaders(securityHeaders))], CALLS);
    rows.push(['security headers: on the raw response (before)', rawHeadersUs!]);
    rows.push(['security headers: among fastify reply headers (now)', replyHeadersUs!]);

    const app = await buildApp({ db, driver: 'postgres', role: 'all' });
    const bare = Fastify();
    bare.post('/predict', bareWork);
    bare.get(LIVENESS_PATH, async () => ({ status: 'alive', role: 'all', version: VERSION }));
    await Promise.all([app.ready(), bare.ready()]);
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` };
    const injectCalls = Math.max(200, Math.round(CALLS / 10));
    const trpcBody = JSON.stringify({ json: { endpoint: 'bench-lr', records } });
    const batchBody = JSON.stringify({ 0: { json: { endpoint: 'bench-lr', records } } });
    const injected = await timeInterleaved(
      [
        () => bare.inject({ method: 'POST', url: '/predict', headers, payload: body }),
        () => app.inject({ method: 'POST', url: '/api/v1/endpoints/bench-lr/predict', headers, payload: body }),
        () => app.inject({ method: 'POST', url: '/trpc/scoring.predict', headers, payload: trpcBody }),
        () => app.inject({ method: 'POST', url: '/trpc/scoring.predict?batch=1', headers, payload: batchBody }),
        () => bare.inject({ method: 'GET', url: LIVENESS_PATH }),
        () => app.inject({ method: 'GET', url: LIVENESS_PATH }),
      ],
      injectCalls,
    );
    rows.push(['inject: bare fastify route', injected[0]!]);
    rows.push(['inject: REST predict (full app, log off)', injected[1]!]);
    rows.push(['inject: tRPC scoring.predict (full app, log off)', injected[2]!]);
    rows.push(['inject: tRPC scoring.predict, general path (?batch=1)', injected[3]!]);
    // What the app's per-request hooks and headers cost on their own (request id, security headers,
    // CSRF check, span name, HTTP metrics): the same trivial answer in both.
    rows.push([`inject: GET ${LIVENESS_PATH}, plain fastify app`, injected[4]!]);
    rows.push([`inject: GET ${LIVENESS_PATH}, full app (its hooks)`, injected[5]!]);
    runtime.predictionLog.enabled = true;
    await runtime.flushRecorders();

    console.log(
      `one-record predict, logistic regression, CPU microseconds per call (best of 3 x ${CALLS.toLocaleString('en-US')} calls; inject rows: best of 5 interleaved rounds x ${injectCalls.toLocaleString('en-US')}; ${howRun()})`,
    );
    for (const [label, us] of rows) console.log(`  ${label.padEnd(56)} ${us.toFixed(1).padStart(7)} us`);
    await app.close();
    await bare.close();
  } finally {
    await disposeBenchDatabase(database, pgdb);
  }
}

await main();
