import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { startMetricsServer, type MetricsServer } from '@/server/metrics/server';
import { freeLoopbackPort } from '@/server/metrics/temporal-metrics';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker } from '@/workflows/worker';
import { startServer } from '../e2e/server';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { createPostgresDatabase, openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';
import { setNotebookCells, sql } from '../helpers/pipeline';
import { scrape, valueOf, type Sample } from '../helpers/prometheus';
import { quietTemporalRuntime, uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

const PREDICT_ROUTE = '/api/v1/endpoints/:name/predict';

describe('Prometheus metrics of one process', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let metrics: MetricsServer;
  let temporal: TestTemporal;
  let client: Client;
  let worker: Awaited<ReturnType<typeof createWorker>>;
  let running: Promise<void>;
  let caller: ReturnType<typeof callerFor>;
  let projectId: string;
  let scoreKey: string;
  const endpoint = `metrics-${Date.now()}`;

  beforeAll(async () => {
    quietTemporalRuntime();
    temporal = await useTestTemporal();
    client = await connectTemporal(temporal.address, temporal.namespace);
    t = await openTestDatabase('postgres');
    const taskQueue = uniqueTaskQueue('metrics');
    worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue });
    running = worker.run();
    const admin = await newUser(t.db, 'admin');
    caller = callerFor(t.db, admin, { workflows: createWorkflowStarter(client, taskQueue) });
    const team = await caller.teams.create({ name: 'Ops' });
    projectId = (await caller.projects.create({ teamId: team.id, name: 'Serving' })).id;
    await tinyEndpoint(t.db, admin, projectId, endpoint);
    scoreKey = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'scorer', scopes: [`score:${endpoint}`] } })).secret;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
    metrics = await startMetricsServer({ host: '127.0.0.1', port: 0 });
  }, 120_000);

  afterAll(async () => {
    await metrics?.close();
    await app?.close();
    await worker?.shutdown();
    await running;
    await client?.connection.close();
    await temporal?.stop();
    await disposeWithProjectRoles(t);
  }, 60_000);

  const predict = (records: unknown[]) =>
    app.inject({ method: 'POST', url: `/api/v1/endpoints/${endpoint}/predict`, headers: { 'content-type': 'application/json', authorization: `Bearer ${scoreKey}` }, payload: JSON.stringify({ records }) });

  it('counts requests by route template, predictions by endpoint and model version, and keeps raw URLs out of the labels', async () => {
    const before = await scrape(metrics.url);
    const okBefore = valueOf(before, 'stagebook_http_requests_total', { route: PREDICT_ROUTE, method: 'POST', status: '200' });
    const badBefore = valueOf(before, 'stagebook_http_requests_total', { route: PREDICT_ROUTE, method: 'POST', status: '400' });
    const unmatchedBefore = valueOf(before, 'stagebook_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' });

    const versions = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const res = await predict([{ x: 1.5, kind: 'a' }, { x: 7.5, kind: 'b' }]);
      expect(res.statusCode, res.body).toBe(200);
      versions.add((res.json() as { modelVersion: number }).modelVersion);
    }
    expect([...versions]).toEqual([1]);
    expect((await predict([{ x: 'lots', kind: 'a' }])).statusCode).toBe(400);
    const secret = randomUUID();
    for (let i = 0; i < 2; i++) expect((await app.inject({ method: 'GET', url: `/no/such/${secret}/${i}` })).statusCode).toBe(404);

    const after = await scrape(metrics.url);
    expect(valueOf(after, 'stagebook_http_requests_total', { route: PREDICT_ROUTE, method: 'POST', status: '200' }) - okBefore).toBe(3);
    expect(valueOf(after, 'stagebook_http_requests_total', { route: PREDICT_ROUTE, method: 'POST', status: '400' }) - badBefore).toBe(1);
    expect(valueOf(after, 'stagebook_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }) - unmatchedBefore).toBe(2);
    expect(valueOf(after, 'stagebook_http_request_duration_seconds_count', { route: PREDICT_ROUTE, method: 'POST' })).toBeGreaterThanOrEqual(4);
    // Six records in three good requests; the bad one scored nothing.
    expect(valueOf(after, 'stagebook_predictions_total', { endpoint, model_version: '1' })).toBe(6);
    expect(valueOf(after, 'stagebook_prediction_duration_seconds_count', { endpoint })).toBe(3);
    const leaked = after.filter((s) => Object.values(s.labels).some((v) => v.includes(secret)));
    expect(leaked).toEqual([]);
    // Process and Node runtime metrics, and the collaboration gauges (nothing open here).
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(after.some((s) => s.name === name), name).toBe(true);
    }
    expect(valueOf(after, 'stagebook_collab_connections')).toBe(0);
    expect(valueOf(after, 'stagebook_collab_documents')).toBe(0);
  });

  it('counts a build run once, by its outcome', { timeout: 120_000 }, async () => {
    const before = await scrape(metrics.url);
    const nb = await caller.notebooks.create({ projectId, name: 'Tiny' });
    await setNotebookCells(t.db, nb.id, [sql('one', 'one', 'select 1 as x'), sql('broken', 'broken', 'select no_such_column from one')]);
    const good = await caller.builds.start({ projectId, notebookId: nb.id, target: { kind: 'cell', cellId: 'one' } });
    await client.workflow.getHandle(`build-${good.runId}`).result();
    const bad = await caller.builds.start({ projectId, notebookId: nb.id, target: { kind: 'cell', cellId: 'broken' } });
    await client.workflow.getHandle(`build-${bad.runId}`).result();
    expect((await caller.builds.get({ projectId, runId: good.runId })).status).toBe('succeeded');
    expect((await caller.builds.get({ projectId, runId: bad.runId })).status).toBe('failed');
    const after = await scrape(metrics.url);
    const delta = (status: string, s: Sample[] = after) => valueOf(s, 'stagebook_build_runs_total', { status }) - valueOf(before, 'stagebook_build_runs_total', { status });
    expect({ succeeded: delta('succeeded'), failed: delta('failed') }).toEqual({ succeeded: 1, failed: 1 });
  });
});

describe('Prometheus metrics of a worker process', () => {
  it("serve the Temporal worker's own telemetry beside ours on METRICS_PORT, not on the public port", { timeout: 180_000 }, async () => {
    const temporal = await useTestTemporal();
    const db = await createPostgresDatabase();
    const metricsPort = await freeLoopbackPort();
    const worker = await startServer({ role: 'worker', env: { DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('metrics-worker'), METRICS_PORT: String(metricsPort) } });
    try {
      expect((await fetch(`${worker.baseUrl}/metrics`)).status).toBe(404);
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      // The SDK's exporter starts with the worker, after the server listens; the worker's series
      // (task slots) appear once it polls, which may be after the first temporal_ series.
      let samples: Sample[] = [];
      const polling = () => samples.some((s) => s.name === 'temporal_worker_task_slots_available' && s.labels.worker_type === 'WorkflowWorker');
      const deadline = Date.now() + 30_000;
      while (!polling() && Date.now() < deadline) {
        samples = await scrape(url);
        if (!polling()) await new Promise((r) => setTimeout(r, 500));
      }
      const names = new Set(samples.map((s) => s.name));
      expect([...names].filter((n) => n.startsWith('temporal_')).length, [...names].join(' ')).toBeGreaterThan(0);
      // Named by deploy/grafana's dashboard: free task slots, by worker type.
      expect(samples.filter((s) => s.name === 'temporal_worker_task_slots_available').map((s) => s.labels.worker_type)).toContain('WorkflowWorker');
      expect(names.has('process_cpu_user_seconds_total')).toBe(true);
      expect(names.has('stagebook_collab_connections')).toBe(true);
    } finally {
      await worker.stop();
      await db.drop();
      await temporal.stop();
    }
  });
});
