/**
 * `npm run bench metrics`: what Prometheus metrics cost. (1) A request through fastify with the
 * metrics hook against the same app without it (ratio). (2) One scrape of a registry holding what a
 * busy web+api process holds (60 routes x 2 methods x 4 statuses, 20 endpoints x 2 model versions,
 * build and scenario outcomes, 50 live notebooks with 200 connections, process and runtime
 * metrics): the CPU time of building the exposition (process.cpuUsage over many scrapes) and the
 * latency of `GET /metrics` over HTTP from the real metrics listener (server/metrics/server.ts),
 * against a GET of a fixed body from a bare Node HTTP server, in the same process and run.
 * `--rounds=N` requests per measure (default 5000), `--scrapes=N` (default 300).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { registerHttpMetrics } from '@/server/metrics/http';
import { buildRuns, httpRequestDuration, httpRequests, metricsRegistry, predictionDuration, predictions, scenarioRuns, watchCollab } from '@/server/metrics/registry';
import { startMetricsServer } from '@/server/metrics/server';

const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5000);
const SCRAPES = Number(process.argv.find((a) => a.startsWith('--scrapes='))?.slice(10) ?? 300);

async function appWith(metrics: boolean) {
  const app = Fastify();
  if (metrics) registerHttpMetrics(app);
  app.get('/api/v1/things/:id', async () => ({ ok: true }));
  await app.ready();
  return app;
}

async function perRequestMs(app: Awaited<ReturnType<typeof appWith>>): Promise<number> {
  for (let i = 0; i < 500; i++) await app.inject({ method: 'GET', url: `/api/v1/things/${i}` });
  const t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await app.inject({ method: 'GET', url: `/api/v1/things/${i}` });
  return (performance.now() - t0) / ROUNDS;
}

const plain = await appWith(false);
const measured = await appWith(true);
// Interleaved, twice, so drift in machine load hits both alike.
const base: number[] = [];
const withMetrics: number[] = [];
for (let r = 0; r < 2; r++) {
  base.push(await perRequestMs(plain));
  withMetrics.push(await perRequestMs(measured));
}
const baseMs = Math.min(...base);
const metricsMs = Math.min(...withMetrics);

fillRealisticSeries();
const { bytes, series, cpuMs, wallMs } = await scrapeCpu();
const scrape = await scrapeLatency();

console.log(`request, no metrics (baseline): ${(baseMs * 1000).toFixed(1)} us`);
console.log(`request, with metrics:          ${(metricsMs * 1000).toFixed(1)} us  (${(metricsMs / baseMs).toFixed(2)}x baseline)`);
console.log(`one scrape: ${series} series, ${(bytes / 1024).toFixed(0)} KiB`);
console.log(`  CPU to build it: ${cpuMs.toFixed(2)} ms per scrape (wall ${wallMs.toFixed(2)} ms; = ${(cpuMs / baseMs).toFixed(0)} plain fastify requests)`);
console.log(`  GET /metrics over HTTP: p50 ${scrape.p50.toFixed(2)} ms, p99 ${scrape.p99.toFixed(2)} ms; bare Node GET of the same bytes: p50 ${scrape.bareP50.toFixed(2)} ms, p99 ${scrape.bareP99.toFixed(2)} ms (p50 ${(scrape.p50 / scrape.bareP50).toFixed(1)}x)`);
console.log(`  at one scrape every 15 s: ${((cpuMs / 15_000) * 100).toFixed(3)} % of one core`);
await plain.close();
await measured.close();

/** What a busy web+api process holds after a while: every label value a dashboard would see. */
function fillRealisticSeries(): void {
  for (let r = 0; r < 60; r++) {
    for (const method of ['GET', 'POST']) {
      for (const status of ['200', '400', '404', '500']) {
        httpRequests.inc({ route: `/api/v1/route-${r}/:id`, method, status });
        httpRequestDuration.observe({ route: `/api/v1/route-${r}/:id`, method }, 0.01);
      }
    }
  }
  for (let e = 0; e < 20; e++) {
    for (const version of ['3', '4']) predictions.inc({ endpoint: `endpoint-${e}`, model_version: version });
    predictionDuration.observe({ endpoint: `endpoint-${e}` }, 0.001);
  }
  for (const status of ['succeeded', 'failed', 'cancelled']) {
    buildRuns.inc({ status });
    scenarioRuns.inc({ status });
  }
  watchCollab(() => ({ notebooks: 50, connections: 200 }));
}

/** CPU (user + system) and wall time of building the exposition, per scrape, over SCRAPES scrapes after a warm-up. */
async function scrapeCpu(): Promise<{ bytes: number; series: number; cpuMs: number; wallMs: number }> {
  let text = '';
  for (let i = 0; i < 20; i++) text = await metricsRegistry.metrics();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < SCRAPES; i++) text = await metricsRegistry.metrics();
  const wallMs = (performance.now() - t0) / SCRAPES;
  const cpu = process.cpuUsage(cpu0);
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  return { bytes: Buffer.byteLength(text), series, cpuMs: (cpu.user + cpu.system) / 1000 / SCRAPES, wallMs };
}

/** p50/p99 of GET /metrics from the metrics listener, interleaved with a bare server sending the same number of bytes. */
async function scrapeLatency(): Promise<{ p50: number; p99: number; bareP50: number; bareP99: number }> {
  const metrics = await startMetricsServer({ host: '127.0.0.1', port: 0 });
  const body = await (await fetch(metrics.url)).text();
  const bare = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(body));
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', () => resolve()));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/metrics`;
  const timed = async (url: string) => {
    const t0 = performance.now();
    await (await fetch(url)).text();
    return performance.now() - t0;
  };
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < 20; i++) {
    await timed(metrics.url);
    await timed(bareUrl);
  }
  for (let i = 0; i < SCRAPES; i++) {
    ours.push(await timed(metrics.url));
    base.push(await timed(bareUrl));
  }
  await metrics.close();
  await new Promise<void>((resolve) => bare.close(() => resolve()));
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  return { p50: q(ours, 0.5), p99: q(ours, 0.99), bareP50: q(base, 0.5), bareP99: q(base, 0.99) };
}
