/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP, JSON): spans of
 * incoming HTTP requests (instrumentation-http, so REST, tRPC and pages), of their Postgres queries
 * (instrumentation-pg) and, through the Temporal SDK's interceptors, of workflow starts, workflow
 * runs and activities, with the context carried in Temporal headers so one trace goes from the
 * request to the activity's queries. Imported lazily (`await import`) only when enabled: unset, none
 * of this is loaded.
 */
import { createRequire } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkerInterceptors, WorkerOptions } from '@temporalio/worker';

const require = createRequire(import.meta.url);

export type Tracing = {
  /** For the Temporal client: starts (and signals, queries) carry the caller's span context. */
  clientInterceptors: WorkflowClientInterceptor[];
  /** For the worker: activity spans, the workflow interceptor module bundled in, and the sink that exports workflow spans. */
  worker: { interceptors: WorkerInterceptors; sinks: NonNullable<WorkerOptions['sinks']>; workflowInterceptorModules: string[] };
  /** Sends what is buffered (tests; shutdown). */
  flush: () => Promise<void>;
  shutdown: () => Promise<void>;
};

export type TracingOptions = {
  /** OTLP/HTTP base URL, e.g. http://collector:4318 (spans go to `<endpoint>/v1/traces`). */
  endpoint: string;
  serviceName: string;
  role: string;
};

export function startTracing(opts: TracingOptions): Tracing {
  const resource = new Resource({ 'service.name': opts.serviceName, 'stagebook.role': opts.role });
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const processor: SpanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  // The global tracer provider, W3C trace-context propagation and the AsyncLocalStorage context manager.
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => req.url === '/api/live' || req.url === '/api/health',
        // Paths only: a query string can hold tRPC inputs or a key a client put in the URL.
        requestHook: (span, req) => {
          if (!('headers' in req) || typeof (req as { url?: unknown }).url !== 'string') return;
          const target = (req as { url: string }).url;
          const at = target.indexOf('?');
          if (at < 0) return;
          span.setAttribute('http.target', target.slice(0, at));
          span.setAttribute('http.url', `(query removed) ${target.slice(0, at)}`);
        },
      }),
      new PgInstrumentation({ requireParentSpan: true }),
    ],
  });
  // The hooks patch on require: load the modules through it, so those already imported as ES
  // modules (the same objects) are patched too.
  for (const id of ['node:http', 'node:https', 'pg', 'pg-pool']) require(id);

  return {
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor()],
    worker: {
      interceptors: {
        activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
      },
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
      workflowInterceptorModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
