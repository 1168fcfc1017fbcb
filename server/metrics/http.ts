import type { FastifyInstance } from 'fastify';
import { httpRequestDuration, httpRequests } from './registry';
import type { CounterSeries, HistogramSeries } from './series';

/** One route template and method's series: its duration, and its count per status code. */
type RouteSeries = { duration: HistogramSeries; byStatus: Map<number, CounterSeries>; route: string; method: string };

/**
 * Counts and times every request by its route template, from fastify's `onResponse` (it runs when
 * the raw response finishes, hijacked replies such as Next.js pages included) with fastify's own
 * elapsed time: no listener or closure of ours per response. The series of a route, method and
 * status are looked up once and kept. Requests no route matched share one label, so a scan of
 * random URLs cannot grow the series.
 */
export function registerHttpMetrics(app: FastifyInstance): void {
  const routes = new Map<string, Map<string, RouteSeries>>();
  const seriesOf = (route: string, method: string): RouteSeries => {
    let methods = routes.get(route);
    if (!methods) routes.set(route, (methods = new Map()));
    let s = methods.get(method);
    if (!s) methods.set(method, (s = { duration: httpRequestDuration.labels(route, method), byStatus: new Map(), route, method }));
    return s;
  };
  // Callback style, as the app's other per-request hooks (no promise per request).
  app.addHook('onResponse', (req, reply, done) => {
    const s = seriesOf(req.routeOptions.url ?? 'unmatched', req.method);
    const status = reply.raw.statusCode;
    let count = s.byStatus.get(status);
    if (!count) s.byStatus.set(status, (count = httpRequests.labels(s.route, s.method, String(status))));
    count.inc();
    s.duration.observe(reply.elapsedTime / 1000);
    done();
  });
}
