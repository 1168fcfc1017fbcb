import { trace } from '@opentelemetry/api';

/**
 * A pino `mixin`: every log line written while a span is active carries its trace and span ids, so
 * a log line leads to its trace. Without tracing (no SDK registered) there is never an active span.
 */
export function traceLogFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
