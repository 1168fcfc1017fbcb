/**
 * Real-time scoring over HTTP: one credit record per request, 50 connections, 10 s (autocannon, run
 * as a child process on the same machine), against
 *   - bare:  a plain fastify route feeding the same ONNX session (no auth, no validation),
 *   - REST:  our `POST /api/v1/endpoints/{name}/predict` with a `score:` API key (cached key and
 *            endpoint, record validation, response schema, prediction log),
 *   - REST, log off: the same with the prediction log switched off (what logging costs: the
 *            recorder's push per record plus its 2 s batched INSERTs into the same Postgres),
 *   - tRPC:  our `scoring.predict` over `/trpc` with the same key (a single, unbatched call: served
 *            by its fast path, api/routers/scoring.ts: the same cached key and endpoint, zod input
 *            validation, no middleware chain or superjson),
 *   - Python: the real-time peer, FastAPI + onnxruntime on uvicorn with one worker (what `mlflow
 *            models serve` is built on; bench/onnx-serve.py, venv from bench/requirements-serving.txt
 *            built on first use), serving the same ONNX file with the same JSON,
 * for a logistic regression and a 100-tree gradient-boosted model trained on credit_data.csv. Prints
 * req/s, p50 and p99 per target, the server's CPU per request for ours and the bare route (this
 * process's CPU time while autocannon ran, over the requests answered: steadier than req/s on a shared
 * machine), and our ratios to the bare route and to the Python peer. The targets run interleaved,
 * `rounds` times each, and each keeps its best throughput and its best p50/p99 over the rounds: on a
 * shared machine a neighbour's burst then spoils one round, not the comparison.
 *
 *   npx tsx bench/scoring.ts [seconds] [connections] [rounds]
 *   npm run bench scoring -- --seconds 10 --connections 50 --rounds 2
 *
 * `npm run bench` runs it compiled as production runs the server (bench/compiled.ts); run with tsx, it says so.
 *
 * Records its ratios for the aims table (bench/aims.ts: rest-bare, trpc-bare, rest-python, logging).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';
import { openDatabase } from '../db/client';
import { buildApp } from '../server/app';
import type { FeatureSchema } from '../server/ml/onnx/feature-schema';
import { createApiKey } from '../server/services/api-keys/create-api-key';
import type { Actor } from '../server/services/context';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { createEndpoint } from '../server/services/endpoints/create-endpoint';
import { readArtifact } from '../server/services/models/artifacts';
import { getModelVersion } from '../server/services/models/list-models';
import { trainModelVersion } from '../server/services/models/train-model-version';
import { scoringRuntime } from '../server/services/scoring/runtime';
import { createPostgresDatabase } from '../tests/helpers/db';
import { sharedDataFile } from '../tests/helpers/data';
import { lockedPythonVenv } from '../tests/helpers/python';
import { numberOption, recordAims } from './aims';
import { howRun } from './compiled';
import { benchProject, disposeBenchDatabase } from './bench-db';
import { bareScore, cannon, CREDIT_RECORD, type CannonResult } from './bench-http';

const SECONDS = numberOption('seconds', 0, 10);
const CONNECTIONS = numberOption('connections', 1, 50);
const ROUNDS = numberOption('rounds', 2, 2);

const RECORD = CREDIT_RECORD;

/**
 * `cpuUs`: this process's CPU time (user + system) per answered request while autocannon ran, in
 * microseconds. The bare route and ours both run in this process (autocannon in its own), so it is
 * the server's work per request, background work included (the prediction log's INSERTs): steadier
 * than req/s on a shared machine, where throughput also measures the wait for a core and the load
 * generator's own share of the same cores. Null for the Python peer (another process).
 */
type Result = CannonResult & { cpuUs: number | null };

async function measure(url: string, body: string, headers: Record<string, string>, inProcess: boolean): Promise<Result> {
  await cannon(url, body, headers, 2, CONNECTIONS); // warm-up: JIT, connection pools, session caches
  const started = process.cpuUsage();
  const r = await cannon(url, body, headers, SECONDS, CONNECTIONS);
  const used = process.cpuUsage(started);
  return { ...r, cpuUs: inProcess && r.requests > 0 ? (used.user + used.system) / r.requests : null };
}

/** The baseline: the same model file in its own session, fed straight from the record. */
async function bareServer(bytes: Uint8Array, schema: FeatureSchema) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
  const app = Fastify();
  app.post('/predict', async (req) => {
    const records = (req.body as { records: Record<string, unknown>[] }).records;
    return bareScore(session, schema, records);
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const a = app.server.address();
  return { app, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/predict` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** The Python peer on the same file; resolves once it answers a predict. */
async function pythonServer(python: string, bytes: Uint8Array, schema: FeatureSchema, body: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-onnx-serve-'));
  writeFileSync(path.join(dir, 'model.onnx'), bytes);
  writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(schema));
  const port = await freePort();
  const child: ChildProcess = spawn(python, [path.join(import.meta.dirname, 'onnx-serve.py'), path.join(dir, 'model.onnx'), path.join(dir, 'schema.json'), String(port)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/predict`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`onnx-serve.py exited with ${child.exitCode}`);
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).catch(() => null);
    if (res?.status === 200) return { url, stop, first: (await res.json()) as { predictions: { label: string; probabilities: Record<string, number> }[] } };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`onnx-serve.py did not answer within 60 s (last status ${res?.status})`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const fmt = (r: Result) =>
  `${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(3)} ms${r.cpuUs === null ? '' : `  server CPU ${r.cpuUs.toFixed(1).padStart(5)} us/req`}${r.non2xx || r.errors ? `  (${r.non2xx} non-2xx, ${r.errors} errors!)` : ''}`;

/** Best over rounds: the highest throughput, the lowest latencies and CPU per request. */
function better(b: Result | null, r: Result): Result {
  if (!b) return r;
  const cpuUs = b.cpuUs === null || r.cpuUs === null ? null : Math.min(b.cpuUs, r.cpuUs);
  return { rps: Math.max(b.rps, r.rps), p50: Math.min(b.p50, r.p50), p99: Math.min(b.p99, r.p99), non2xx: b.non2xx + r.non2xx, errors: b.errors + r.errors, requests: b.requests + r.requests, cpuUs };
}

async function main() {
  const pgdb = await createPostgresDatabase();
  const database = await openDatabase({ url: pgdb.url, poolSize: 10 });
  try {
    await database.migrate();
    const db = database.db;
    const system: Actor = { type: 'system', name: 'bench' };
    const { ctx, projectId } = await benchProject(db, 'Scoring');
    await uploadDataset({ ctx, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(sharedDataFile('credit_data.csv')) });

    const models = [
      { name: 'lr', label: 'logistic regression', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } },
      { name: 'trees', label: '100-tree gradient boosting', spec: { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 100, earlyStopping: false } } },
    ] as const;
    const python = lockedPythonVenv('serving-venv', 'bench/requirements-serving.txt');
    const app = await buildApp({ db, driver: 'postgres', role: 'all' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const a = app.server.address();
    const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;

    console.log(`scoring over HTTP: ${CONNECTIONS} connections, ${SECONDS} s, one record per request, best of ${ROUNDS} interleaved rounds (autocannon, same machine; Postgres; ${howRun()})`);
    for (const m of models) {
      await trainModelVersion({ ctx, input: { projectId, modelName: m.name, dataset: 'credit', spec: m.spec } });
      await createEndpoint({ ctx: { ...ctx, actor: system }, input: { projectId, name: `bench-${m.name}`, model: m.name, description: '' } });
      const key = await createApiKey({ ctx, input: { projectId, name: m.name, scopes: [`score:bench-${m.name}`] } });
      const detail = await getModelVersion({ ctx, input: { projectId, name: m.name, version: 1 } });
      const bytes = await readArtifact(db, detail.artifactSha256);
      const bare = await bareServer(bytes, detail.featureSchema);
      const auth = { authorization: `Bearer ${key.secret}` };
      const body = JSON.stringify({ records: [RECORD] });

      const check = await fetch(`${base}/api/v1/endpoints/bench-${m.name}/predict`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
      if (check.status !== 200) throw new Error(`predict answered ${check.status}: ${await check.text()}`);
      const ours = ((await check.json()) as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions[0]!;
      const py = await pythonServer(python, bytes, detail.featureSchema, body);
      const theirs = py.first.predictions[0]!;
      const pos = detail.featureSchema.classes[detail.featureSchema.positiveIndex];
      // Same file, same record: the same answer, or the comparison is not like for like.
      if (theirs.label !== ours.label || Math.abs(theirs.probabilities[pos]! - ours.probabilities[pos]!) > 1e-5) {
        await py.stop();
        throw new Error(`the Python peer disagrees: ${JSON.stringify(theirs)} vs ours ${JSON.stringify(ours)}`);
      }

      const log = scoringRuntime(db).predictionLog;
      const loggedBefore = log.written + log.buffered;
      const targets: { url: string; body: string; headers: Record<string, string>; logging?: false; elsewhere?: true }[] = [
        { url: bare.url, body, headers: {} },
        { url: `${base}/api/v1/endpoints/bench-${m.name}/predict`, body, headers: auth },
        { url: `${base}/api/v1/endpoints/bench-${m.name}/predict`, body, headers: auth, logging: false },
        { url: `${base}/trpc/scoring.predict`, body: JSON.stringify({ json: { endpoint: `bench-${m.name}`, records: [RECORD] } }), headers: auth },
        { url: py.url, body, headers: {}, elsewhere: true },
      ];
      const best: (Result | null)[] = targets.map(() => null);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, t] of targets.entries()) {
          log.enabled = t.logging ?? true;
          const r = await measure(t.url, t.body, t.headers, !t.elsewhere);
          log.enabled = true;
          best[i] = better(best[i] ?? null, r);
        }
      }
      const [bareResult, rest, restNoLog, trpc, pyResult] = best as [Result, Result, Result, Result, Result];
      await log.flush();
      const logged = log.written - loggedBefore;
      await bare.app.close();
      await py.stop();

      console.log(`\n${m.label} (${(bytes.byteLength / 1024).toFixed(0)} KB ONNX)`);
      console.log(`  bare fastify + ONNX   ${fmt(bareResult)}`);
      console.log(`  REST predict          ${fmt(rest)}`);
      console.log(`  REST, log off         ${fmt(restNoLog)}`);
      console.log(`  tRPC scoring.predict  ${fmt(trpc)}`);
      console.log(`  Python FastAPI + ORT  ${fmt(pyResult)}`);
      const ratio = (x: number, y: number) => (y ? (x / y).toFixed(2) : 'n/a');
      // CPU as the throughput ratios read: bare's CPU per request / ours (1.00x = as cheap as bare).
      const cpu = (r: Result) => (r.cpuUs && bareResult.cpuUs ? `, server CPU per request ${(bareResult.cpuUs / r.cpuUs).toFixed(2)}x (bare / ours)` : '');
      console.log(`  REST / bare: throughput ${ratio(rest.rps, bareResult.rps)}x, p99 ${ratio(rest.p99, bareResult.p99)}x${cpu(rest)}`);
      console.log(
        `  REST log on / log off: throughput ${ratio(rest.rps, restNoLog.rps)}x, p99 ${ratio(rest.p99, restNoLog.p99)}x; ${logged.toLocaleString('en-US')} predictions logged, ${log.dropped} dropped`,
      );
      console.log(`  tRPC / bare: throughput ${ratio(trpc.rps, bareResult.rps)}x, p99 ${ratio(trpc.p99, bareResult.p99)}x${cpu(trpc)}`);
      console.log(`  REST / Python (uvicorn, 1 worker): throughput ${ratio(rest.rps, pyResult.rps)}x, p99 ${ratio(rest.p99, pyResult.p99)}x`);
      const model = m.name === 'lr' ? 'LR' : 'trees';
      const conditions = `${CONNECTIONS} connections, ${SECONDS} s, best of ${ROUNDS} rounds`;
      recordAims('scoring', 'rest-bare', { [model]: rest.rps / bareResult.rps, [`p99 ${model}`]: rest.p99 / bareResult.p99 }, conditions);
      recordAims('scoring', 'trpc-bare', { [model]: trpc.rps / bareResult.rps, [`p99 ${model}`]: trpc.p99 / bareResult.p99 }, conditions);
      recordAims('scoring', 'rest-python', { [model]: rest.rps / pyResult.rps }, conditions);
      recordAims('scoring', 'logging', { [model]: rest.rps / restNoLog.rps }, conditions);
    }
    await scoringRuntime(db).lastUsed.flush();
    await app.close();
  } finally {
    await disposeBenchDatabase(database, pgdb);
  }
}

await main();
