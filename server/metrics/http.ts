import type { FastifyInstance } from 'fastify';
import { httpRequestDuration, httpRequests } from './registry';

/**
 * Counts and times every request by its route template. On the raw response's `finish`, not
 * fastify's onResponse: hijacked replies (Next.js pages) skip fastify's hooks. Requests no route
 * matched share one label, so a scan of random URLs cannot grow the series.
 */
export function registerHttpMetrics(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    const started = performance.now();
    const route = req.routeOptions.url ?? 'unmatched';
    const method = req.method;
    reply.raw.once('finish', () => {
      httpRequests.inc({ route, method, status: String(reply.raw.statusCode) });
      httpRequestDuration.observe({ route, method }, (performance.now() - started) / 1000);
    });
    done();
  });
}
