/**
 * `npm run bench metrics`: what Prometheus metrics cost. (1) A request through fastify with the
 * metrics hook against the same app without it (ratio). (2) One scrape of a registry holding 60
 * routes x 4 statuses and 20 endpoints, against one plain request as the baseline.
 */
import Fastify from 'fastify';
import { registerHttpMetrics } from '@/server/metrics/http';
import { httpRequestDuration, httpRequests, metricsRegistry, predictionDuration, predictions } from '@/server/metrics/registry';

const ROUNDS = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 5000);

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

for (let r = 0; r < 60; r++) {
  for (const status of ['200', '400', '404', '500']) {
    httpRequests.inc({ route: `/route/${r}`, method: 'GET', status });
    httpRequestDuration.observe({ route: `/route/${r}`, method: 'GET' }, 0.01);
  }
}
for (let e = 0; e < 20; e++) {
  predictions.inc({ endpoint: `endpoint-${e}`, model_version: '3' });
  predictionDuration.observe({ endpoint: `endpoint-${e}` }, 0.001);
}
const scrapes: number[] = [];
let bytes = 0;
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  bytes = (await metricsRegistry.metrics()).length;
  scrapes.push(performance.now() - t0);
}
scrapes.sort((a, b) => a - b);
const p50 = scrapes[100]!;
const p99 = scrapes[197]!;

console.log(`request, no metrics (baseline): ${(baseMs * 1000).toFixed(1)} us`);
console.log(`request, with metrics:          ${(metricsMs * 1000).toFixed(1)} us  (${(metricsMs / baseMs).toFixed(2)}x baseline)`);
console.log(`one scrape (${(bytes / 1024).toFixed(0)} KiB): p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms  (p50 = ${(p50 / baseMs).toFixed(0)} plain requests)`);
await plain.close();
await measured.close();
