import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './series';

/**
 * The process's Prometheus metrics. One registry per process (module state): every role registers
 * the same names, so a dashboard sums them across processes. Labels stay bounded: routes are
 * templates (`/api/v1/endpoints/:name/predict`), endpoints and model versions are what a team
 * deployed, statuses are closed sets.
 */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

// The four below are counted on every request (series.ts: no label key built per call).
export const httpRequests = new FastCounter({
  name: 'stagebook_http_requests_total',
  help: 'HTTP requests answered, by route template, method and status code',
  labelNames: ['route', 'method', 'status'] as const,
  registers: [metricsRegistry],
});

export const httpRequestDuration = new FastHistogram({
  name: 'stagebook_http_request_duration_seconds',
  help: 'Time from a request arriving to its response being sent, by route template',
  labelNames: ['route', 'method'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [metricsRegistry],
});

export const predictions = new FastCounter({
  name: 'stagebook_predictions_total',
  help: 'Records scored by real-time endpoints (REST and tRPC), by endpoint and model version',
  labelNames: ['endpoint', 'model_version'] as const,
  registers: [metricsRegistry],
});

export const predictionDuration = new FastHistogram({
  name: 'stagebook_prediction_duration_seconds',
  help: 'Time to score one predict request (all its records), by endpoint',
  labelNames: ['endpoint'] as const,
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
  registers: [metricsRegistry],
});

export const buildRuns = new Counter({
  name: 'stagebook_build_runs_total',
  help: 'Build runs finished by this worker, by outcome',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});

export const scenarioRuns = new Counter({
  name: 'stagebook_scenario_runs_total',
  help: 'Scenario runs finished by this worker, by outcome',
  labelNames: ['status'] as const,
  registers: [metricsRegistry],
});

/** What the collaboration server holds right now; read at scrape time (see watchCollab). */
type CollabStats = () => { notebooks: number; connections: number };
const collabSources = new Set<CollabStats>();
const sumCollab = (key: 'notebooks' | 'connections') => [...collabSources].reduce((n, s) => n + s()[key], 0);

new Gauge({
  name: 'stagebook_collab_connections',
  help: 'Open collaboration WebSocket connections on this process',
  registers: [metricsRegistry],
  collect() {
    this.set(sumCollab('connections'));
  },
});

new Gauge({
  name: 'stagebook_collab_documents',
  help: 'Notebooks loaded for live editing on this process',
  registers: [metricsRegistry],
  collect() {
    this.set(sumCollab('notebooks'));
  },
});

/** Counts a collaboration server's connections and documents until the returned function is called. */
export function watchCollab(stats: CollabStats): () => void {
  collabSources.add(stats);
  return () => collabSources.delete(stats);
}
