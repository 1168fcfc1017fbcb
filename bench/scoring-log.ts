/**
 * What the prediction log costs the REST predict route, and where: `scoring`'s "REST" and "REST, log
 * off" targets alone (one credit record per request, autocannon as a child process), alternated
 * on / off / on / off `rounds` times so a neighbour's burst spoils a pair, not the comparison. Per
 * run it reads the server process's CPU (`process.cpuUsage`: the event loop, the pg client, the log's
 * encoding) and the CPU of this database's Postgres backends (`/proc/<pid>/stat` of the pids in
 * `pg_stat_activity`: the COPYs, their index and WAL work), each per 1,000 requests, and prints the
 * best throughput of each side, the median of the per-pair ratios and the CPU split.
 *
 *   npm run bench scoring-log -- --seconds 5 --connections 50 --rounds 4 --calls 20000 [--only lr|trees] [--inject-only]
 *
 * Runs compiled as `scoring` does (bench/compiled.ts). It does not record aims: `scoring` does.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { openDatabase, type Database } from '../db/client';
import { buildApp } from '../server/app';
import { createApiKey } from '../server/services/api-keys/create-api-key';
import type { Actor } from '../server/services/context';
import { uploadDataset } from '../server/services/datasets/upload-dataset';
import { createEndpoint } from '../server/services/endpoints/create-endpoint';
import { trainModelVersion } from '../server/services/models/train-model-version';
import { scoringRuntime } from '../server/services/scoring/runtime';
import { createPostgresDatabase } from '../tests/helpers/db';
import { sharedDataFile } from '../tests/helpers/data';
import { numberOption } from './aims';
import { howRun } from './compiled';
import { benchProject, disposeBenchDatabase } from './bench-db';
import { cannon, CREDIT_RECORD, type CannonResult } from './bench-http';

const SECONDS = numberOption('seconds', 0, 5);
const CONNECTIONS = numberOption('connections', 1, 50);
const ROUNDS = numberOption('rounds', 2, 4);
const CALLS = numberOption('calls', 3, 20_000);
const INJECT_ONLY = process.argv.includes('--inject-only');
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100;

type Run = CannonResult & { nodeMs: number; gcMs: number; pgMs: number; requests: number };

/** Milliseconds of garbage collection pauses so far (minor and major), from the runtime's gc entries. */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

/** CPU milliseconds so far of each of this database's backends. */
async function backendCpu(database: Database): Promise<Map<number, number>> {
  const rows = await database.query('select pid from pg_stat_activity where datname = current_database()');
  const out = new Map<number, number>();
  for (const r of rows) {
    const pid = Number(r.pid);
    try {
      // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, ((Number(f[11]) + Number(f[12])) * 1000) / TICKS);
    } catch {
      // Postgres on another machine or the backend gone: not counted.
    }
  }
  return out;
}

async function run(database: Database, url: string, body: string, headers: Record<string, string>, logging: boolean): Promise<Run> {
  const log = scoringRuntime(database.db).predictionLog;
  log.enabled = logging;
  try {
    await cannon(url, body, headers, 2, CONNECTIONS);
    // What the warm-up (or the previous run) buffered is written before the measured run starts.
    await log.flush();
    const pgBefore = await backendCpu(database);
    const nodeBefore = process.cpuUsage();
    const gcBefore = gcMs;
    const r = await cannon(url, body, headers, SECONDS, CONNECTIONS);
    // The measured run's rows are its cost too: written before the CPU is read.
    await log.flush();
    const node = process.cpuUsage(nodeBefore);
    const gc = gcMs - gcBefore;
    const pgAfter = await backendCpu(database);
    let pgMs = 0;
    for (const [pid, ms] of pgAfter) pgMs += ms - (pgBefore.get(pid) ?? ms);
    return { ...r, nodeMs: (node.user + node.system) / 1000, gcMs: gc, pgMs, requests: r.rps * SECONDS };
  } finally {
    log.enabled = true;
  }
}

/**
 * The server's CPU microseconds per request through `app.inject` (no sockets, no load generator: the
 * figure a busy machine disturbs least), the log's writes of those requests included; log on and off
 * interleaved, `rounds` blocks of `CALLS` requests each after a warm-up block, best per side.
 */
async function injectedCpu(database: Database, app: Awaited<ReturnType<typeof buildApp>>, url: string, payload: string, headers: Record<string, string>) {
  const log = scoringRuntime(database.db).predictionLog;
  const best = { on: Infinity, off: Infinity };
  for (let round = 0; round <= ROUNDS; round++) {
    for (const side of round % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      log.enabled = side === 'on';
      const started = process.cpuUsage();
      for (let i = 0; i < CALLS; i++) {
        const res = await app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload });
        if (res.statusCode !== 200) throw new Error(`predict answered ${res.statusCode}: ${res.body}`);
      }
      await log.flush();
      const used = process.cpuUsage(started);
      if (round > 0) best[side] = Math.min(best[side], (used.user + used.system) / CALLS);
    }
  }
  log.enabled = true;
  return best;
}

const per1k = (ms: number, requests: number) => (requests ? ((ms * 1000) / requests).toFixed(1) : 'n/a');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (r: Run) =>
  `${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${String(r.p50).padStart(3)} ms  p99 ${String(r.p99).padStart(3)} ms  node ${per1k(r.nodeMs, r.requests)} ms (gc ${per1k(r.gcMs, r.requests)})  pg ${per1k(r.pgMs, r.requests)} ms CPU / 1k req${r.non2xx || r.errors ? `  (${r.non2xx} non-2xx, ${r.errors} errors!)` : ''}`;

async function main() {
  const pgdb = await createPostgresDatabase();
  const database = await openDatabase({ url: pgdb.url, poolSize: 10 });
  try {
    await database.migrate();
    const db = database.db;
    const system: Actor = { type: 'system', name: 'bench' };
    const { ctx, projectId } = await benchProject(db, 'Scoring log');
    await uploadDataset({ ctx, input: { projectId, name: 'credit', environment: 'design' }, csv: createReadStream(sharedDataFile('credit_data.csv')) });
    const models = [
      { name: 'lr', label: 'logistic regression', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } },
      { name: 'trees', label: '100-tree gradient boosting', spec: { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 100, earlyStopping: false } } },
    ].filter((m) => !ONLY || m.name === ONLY);
    const app = await buildApp({ db, driver: 'postgres', role: 'all' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const a = app.server.address();
    const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
    const log = scoringRuntime(db).predictionLog;

    console.log(`prediction log on / off, REST predict: ${CONNECTIONS} connections, ${SECONDS} s, ${ROUNDS} alternated pairs (${howRun()})`);
    for (const m of models) {
      await trainModelVersion({ ctx, input: { projectId, modelName: m.name, dataset: 'credit', spec: m.spec } });
      await createEndpoint({ ctx: { ...ctx, actor: system }, input: { projectId, name: `bench-${m.name}`, model: m.name, description: '' } });
      const key = await createApiKey({ ctx, input: { projectId, name: m.name, scopes: [`score:bench-${m.name}`] } });
      const path = `/api/v1/endpoints/bench-${m.name}/predict`;
      const url = `${base}${path}`;
      const headers = { authorization: `Bearer ${key.secret}` };
      const body = JSON.stringify({ records: [CREDIT_RECORD] });
      const writtenBefore = log.written;
      console.log(`\n${m.label}`);
      const cpu = await injectedCpu(database, app, path, body, headers);
      console.log(
        `  in process (app.inject, best of ${ROUNDS} x ${CALLS.toLocaleString('en-US')}): log on ${cpu.on.toFixed(1)} us / off ${cpu.off.toFixed(1)} us CPU per request: the log costs ${(cpu.on - cpu.off).toFixed(1)} us`,
      );
      if (INJECT_ONLY) continue;
      const ratios: number[] = [];
      const on: Run[] = [];
      const off: Run[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Which side goes first alternates too: a drift in the machine's load favours neither.
        const first = round % 2 === 0;
        const x = await run(database, url, body, headers, first);
        const y = await run(database, url, body, headers, !first);
        const [rOn, rOff] = first ? [x, y] : [y, x];
        on.push(rOn);
        off.push(rOff);
        ratios.push(rOn.rps / rOff.rps);
        console.log(`  round ${round + 1}  on  ${fmt(rOn)}\n           off ${fmt(rOff)}   on/off ${(rOn.rps / rOff.rps).toFixed(3)}x`);
      }
      const best = (rs: Run[]) => rs.reduce((b, r) => (r.rps > b.rps ? r : b));
      const bOn = best(on);
      const bOff = best(off);
      const sum = (rs: Run[], k: 'nodeMs' | 'gcMs' | 'pgMs' | 'requests') => rs.reduce((s, r) => s + r[k], 0);
      console.log(
        `  best on ${Math.round(bOn.rps)} / off ${Math.round(bOff.rps)} req/s: ${(bOn.rps / bOff.rps).toFixed(3)}x (as scoring reports it); median of pairs ${median(ratios).toFixed(3)}x; ${(log.written - writtenBefore).toLocaleString('en-US')} logged, ${log.dropped} dropped`,
      );
      console.log(
        `  CPU per 1k requests, all rounds: node on ${per1k(sum(on, 'nodeMs'), sum(on, 'requests'))} / off ${per1k(sum(off, 'nodeMs'), sum(off, 'requests'))} ms (of it gc pauses on ${per1k(sum(on, 'gcMs'), sum(on, 'requests'))} / off ${per1k(sum(off, 'gcMs'), sum(off, 'requests'))} ms); postgres on ${per1k(sum(on, 'pgMs'), sum(on, 'requests'))} / off ${per1k(sum(off, 'pgMs'), sum(off, 'requests'))} ms`,
      );
    }
    await scoringRuntime(db).lastUsed.flush();
    await app.close();
  } finally {
    await disposeBenchDatabase(database, pgdb);
  }
}

await main();
