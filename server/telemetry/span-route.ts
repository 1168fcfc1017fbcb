import { SpanKind, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export type SpanRouteOptions = {
  /** Where tRPC is mounted (`/trpc`, its route `/trpc/:path`) and its procedures' paths. */
  trpc?: { prefix: string; procedures: Iterable<string> };
};

/**
 * Names each HTTP server span (instrumentation-http's, named only by the method until here) by the
 * route template fastify matched, `POST /api/v1/endpoints/:name/predict`, and sets `http.route`:
 * raw paths hold ids, so names made from them would be unbounded and unsearchable. A tRPC call of
 * one known procedure is named by it (`POST /trpc/scoring.predict`); a batch or an unknown path
 * keeps the template `/trpc/:path` (a batch lists its known procedures in `trpc.procedures`).
 * Requests no route matched keep the method alone. Uses only `@opentelemetry/api`: without the SDK
 * there is never an active span and this does nothing.
 */
export function registerSpanRoutes(app: FastifyInstance, opts: SpanRouteOptions = {}): void {
  const trpcRoute = opts.trpc ? `${opts.trpc.prefix}/:path` : null;
  const procedures = new Set(opts.trpc?.procedures ?? []);
  // Callback style, as the app's other per-request hooks (no promise per request).
  app.addHook('onRequest', (req, _reply, done) => {
    const span = trace.getActiveSpan();
    if (span && isServerSpan(span)) nameSpan(span, req);
    done();
  });

  function nameSpan(span: Span, req: FastifyRequest): void {
    const template = req.routeOptions.url;
    if (template === undefined) return;
    let route = template;
    if (template === trpcRoute) {
      const path = (req.params as { path?: unknown }).path;
      const called = typeof path === 'string' ? path.split(',') : [];
      if (called.length === 1 && procedures.has(called[0]!)) route = `${opts.trpc!.prefix}/${called[0]}`;
      else if (called.length > 1) span.setAttribute('trpc.procedures', [...new Set(called.filter((p) => procedures.has(p)))].join(','));
    }
    span.updateName(`${req.method} ${route}`);
    span.setAttribute('http.route', route);
  }
}

/** The SDK's spans carry their kind; the API's interface does not show it. */
function isServerSpan(span: Span): boolean {
  return (span as Span & { kind?: SpanKind }).kind === SpanKind.SERVER;
}
