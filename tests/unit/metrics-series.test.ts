import Fastify from 'fastify';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerHttpMetrics } from '@/server/metrics/http';
import { metricsRegistry } from '@/server/metrics/registry';
import { FastCounter, FastHistogram } from '@/server/metrics/series';
import { parsePrometheus, valueOf } from '../helpers/prometheus';

/** A seeded generator, so a failure names its input. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The same metrics twice: prom-client's own, and ours, each in its own registry. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  const requests = { name: 'x_requests_total', help: 'Requests, by route and status', labelNames: ['route', 'status'] as const };
  const duration = { name: 'x_duration_seconds', help: 'Time per request, by route', labelNames: ['route'] as const, buckets: BUCKETS };
  return {
    theirs,
    ours,
    prom: { requests: new Counter({ ...requests, registers: [theirs] }), duration: new Histogram({ ...duration, registers: [theirs] }) },
    fast: { requests: new FastCounter({ ...requests, registers: [ours] }), duration: new FastHistogram({ ...duration, registers: [ours] }) },
  };
}

describe('hot-path metric series', () => {
  it('expose exactly what prom-client exposes for the same counts and observations (text and JSON)', async () => {
    for (const seed of [1, 2, 3]) {
      const { theirs, ours, prom, fast } = pair();
      const next = lcg(seed);
      const routes = ['/api/v1/endpoints/:name/predict', '/trpc/:path', 'unmatched', 'say "hi"\\\n'];
      for (let i = 0; i < 500; i++) {
        const route = routes[Math.floor(next() * routes.length)]!;
        const status = next() < 0.8 ? '200' : '400';
        // Seconds from 0 to ~20: every bucket, the +Inf one and the exact bounds.
        const seconds = next() < 0.1 ? BUCKETS[Math.floor(next() * BUCKETS.length)]! : next() ** 4 * 20;
        const by = 1 + Math.floor(next() * 3);
        prom.requests.inc({ route, status }, by);
        prom.duration.observe({ route }, seconds);
        if (i % 2) fast.requests.labels(route, status).inc(by);
        else fast.requests.inc({ route, status }, by);
        if (i % 3) fast.duration.labels(route).observe(seconds);
        else fast.duration.observe({ route }, seconds);
      }
      expect(await ours.metrics(), `seed ${seed}`).toBe(await theirs.metrics());
      expect(await ours.getMetricsAsJSON(), `seed ${seed}`).toEqual(await theirs.getMetricsAsJSON());
    }
  });

  it('refuse what prom-client refuses: a missing label, a negative count, a value that is not a number', () => {
    const { fast } = pair();
    expect(() => fast.requests.inc({ route: '/x' } as { route: string; status: string })).toThrow(/status/);
    expect(() => fast.requests.labels('/x', '200').inc(-1)).toThrow();
    expect(() => fast.duration.labels('/x').observe(Number.NaN)).toThrow(TypeError);
    expect(() => new FastHistogram({ name: 'x_le', help: 'x', labelNames: ['le'], buckets: BUCKETS, registers: [] })).toThrow(/reserved/);
  });
});

describe('HTTP request metrics', () => {
  it('count and time every response by route template and status, hijacked ones (Next.js pages) and unmatched URLs included', async () => {
    const app = Fastify();
    registerHttpMetrics(app);
    app.get('/metrics-test/things/:id', async () => ({ ok: true }));
    app.post('/metrics-test/refused', async (_req, reply) => reply.status(409).send({ error: 'no' }));
    app.get('/metrics-test/page/*', (_req, reply) => {
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': 'text/html' }).end('<p>page</p>');
    });
    await app.ready();
    const read = async () => parsePrometheus(await metricsRegistry.metrics());
    const before = await read();
    for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: `/metrics-test/things/${i}` })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/metrics-test/refused' })).statusCode).toBe(409);
    expect((await app.inject({ method: 'GET', url: '/metrics-test/page/a/b' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics-test/nothing-here' })).statusCode).toBe(404);
    const after = await read();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    expect({
      things: delta('stagebook_http_requests_total', { route: '/metrics-test/things/:id', method: 'GET', status: '200' }),
      thingsTimed: delta('stagebook_http_request_duration_seconds_count', { route: '/metrics-test/things/:id', method: 'GET' }),
      thingsUnderTenSeconds: delta('stagebook_http_request_duration_seconds_bucket', { route: '/metrics-test/things/:id', method: 'GET', le: '10' }),
      refused: delta('stagebook_http_requests_total', { route: '/metrics-test/refused', method: 'POST', status: '409' }),
      page: delta('stagebook_http_requests_total', { route: '/metrics-test/page/*', method: 'GET', status: '200' }),
      pageTimed: delta('stagebook_http_request_duration_seconds_count', { route: '/metrics-test/page/*', method: 'GET' }),
      unmatched: delta('stagebook_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }),
    }).toEqual({ things: 3, thingsTimed: 3, thingsUnderTenSeconds: 3, refused: 1, page: 1, pageTimed: 1, unmatched: 1 });
    // The raw URLs stay out of the labels.
    expect(after.filter((s) => Object.values(s.labels).some((v) => v.includes('nothing-here') || v.includes('/things/1')))).toEqual([]);
    await app.close();
  });
});
