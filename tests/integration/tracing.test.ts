import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { startTracing, type Tracing } from '@/server/telemetry/tracing';
import { connectTemporal, createWorkflowStarter } from '@/workflows/client';
import { createWorker, type StagebookWorker } from '@/workflows/worker';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { cookieFor } from '../helpers/collab';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';
import { attr, startReceiver, type OtlpSpan } from '../helpers/otlp-receiver';
import { setNotebookCells, sql } from '../helpers/pipeline';
import { killWorkers, quietTemporalRuntime, spawnWorker, uniqueTaskQueue, useTestTemporal, type TestTemporal, type WorkerChild } from '../helpers/temporal';

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  const spans: OtlpSpan[] = [];
  const logLines: string[] = [];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tracing: Tracing;
  let temporal: TestTemporal;
  let t: TestDatabase;
  let client: Client;
  let worker: StagebookWorker;
  let app: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    receiver = await startReceiver(spans);
    tracing = startTracing({ endpoint: receiver.url, serviceName: 'stagebook-test', role: 'all' });
    quietTemporalRuntime();
    [temporal, t] = await Promise.all([useTestTemporal(), openTestDatabase('postgres')]);
    const taskQueue = uniqueTaskQueue('tracing');
    client = await connectTemporal(temporal.address, temporal.namespace, { interceptors: tracing.clientInterceptors });
    worker = await createWorker({ db: t.db, address: temporal.address, namespace: temporal.namespace, taskQueue, tracing: tracing.worker });
    void worker.run();
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all', workflows: createWorkflowStarter(client, taskQueue), logger: { level: 'info', stream: { write: (line) => void logLines.push(line) } } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }, 120_000);

  const standalone: WorkerChild[] = [];
  afterAll(async () => {
    await killWorkers(standalone);
    await app?.close();
    await worker?.shutdown();
    await client?.connection.close();
    await tracing?.shutdown();
    await receiver?.close();
    await disposeWithProjectRoles(t);
    await temporal?.stop();
  }, 60_000);

  /** The span's ancestors, nearest first, among the spans received. */
  const ancestors = (s: OtlpSpan): OtlpSpan[] => {
    const out: OtlpSpan[] = [];
    for (let p = s; p.parentSpanId; ) {
      const parent = spans.find((x) => x.spanId === p.parentSpanId && x.traceId === p.traceId);
      if (!parent) break;
      out.push(parent);
      p = parent;
    }
    return out;
  };
  /** The build of the second case, for the last: its ids must appear in no span name. */
  let built: { admin: Awaited<ReturnType<typeof newUser>>; projectId: string; runId: string; cookie: string; ids: string[] } | undefined;
  const serverSpanOf = (path: string) => spans.find((s) => s.kind === 2 && attr(s, 'http.target') === path);

  it('traces a predict call: the HTTP request and, under it, its Postgres queries; its log lines carry the trace id', { timeout: 60_000 }, async () => {
    const admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Traced' });
    const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'traced');
    const { secret } = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: ['score:traced'] } });
    const res = await fetch(`${baseUrl}/api/v1/endpoints/traced/predict`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ x: 3, kind: 'a' }] }) });
    expect(res.status).toBe(200);
    await tracing.flush();
    const path = '/api/v1/endpoints/traced/predict';
    await vi.waitFor(() => expect(serverSpanOf(path)).toBeDefined(), { timeout: 10_000 });
    const root = serverSpanOf(path)!;
    expect(root.parentSpanId ?? '').toBe('');
    // Named by the route template, not the raw path with the endpoint's name in it.
    expect(root.name).toBe('POST /api/v1/endpoints/:name/predict');
    expect(attr(root, 'http.route')).toBe('/api/v1/endpoints/:name/predict');
    const queries = spans.filter((s) => s.traceId === root.traceId && attr(s, 'db.system') === 'postgresql');
    // The key and the endpoint are looked up (cold caches): at least one query, each under the request.
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) expect(ancestors(q).map((a) => a.spanId)).toContain(root.spanId);
    const logged = logLines.map((l) => JSON.parse(l) as { trace_id?: string; req?: { url?: string }; reqId?: string });
    const incoming = logged.find((l) => l.req?.url === path);
    expect(incoming?.trace_id).toBe(root.traceId);
  });

  it('traces a build started from builds.start: request, workflow start, workflow run, activity and its queries in one trace', { timeout: 90_000 }, async () => {
    const admin = await newUser(t.db, 'builder');
    const caller = callerFor(t.db, admin);
    const team = await caller.teams.create({ name: 'Builds' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'B' })).id;
    const notebook = await caller.notebooks.create({ projectId, name: 'Traced build' });
    await setNotebookCells(t.db, notebook.id, [sql('three', 'three', 'select g as k from generate_series(1, 3) as g')]);
    const res = await fetch(`${baseUrl}/trpc/builds.start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: await cookieFor(t.db, admin) },
      body: JSON.stringify({ json: { projectId, notebookId: notebook.id, target: { kind: 'all' } } }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { runId } = ((await res.json()) as { result: { data: { json: { runId: string } } } }).result.data.json;
    await client.workflow.getHandle(`build-${runId}`).result();
    await tracing.flush();

    const root = () => serverSpanOf('/trpc/builds.start');
    const named = (prefix: string) => spans.filter((s) => s.traceId === root()?.traceId && s.name.startsWith(prefix));
    await vi.waitFor(() => expect(named('RunActivity:buildStep').length).toBeGreaterThan(0), { timeout: 15_000, interval: 200 });
    expect(root()!.name).toBe('POST /trpc/builds.start');
    built = { admin, projectId, runId, cookie: await cookieFor(t.db, admin), ids: [team.id, projectId, notebook.id, runId, admin.userId] };
    const [start] = named('StartWorkflow:buildWorkflow');
    const [run] = named('RunWorkflow:buildWorkflow');
    const [startActivity] = named('StartActivity:buildStep');
    const [activity] = named('RunActivity:buildStep');
    // Each under the one before it: HTTP request > workflow start > workflow run > activity start > activity.
    expect(start?.parentSpanId).toBe(root()!.spanId);
    expect(run?.parentSpanId).toBe(start!.spanId);
    expect(startActivity?.parentSpanId).toBe(run!.spanId);
    expect(activity?.parentSpanId).toBe(startActivity!.spanId);
    const stepQueries = spans.filter((s) => s.traceId === root()!.traceId && attr(s, 'db.system') === 'postgresql' && ancestors(s).some((a) => a.spanId === activity!.spanId));
    expect(stepQueries.map((q) => String(attr(q, 'db.statement'))).join('\n')).toMatch(/generate_series/);
  });
  it('traces the standalone worker process (workflows/worker-main.ts) too, in the trace of the workflow start', { timeout: 120_000 }, async () => {
    const taskQueue = uniqueTaskQueue('tracing-standalone');
    standalone.push(spawnWorker({ databaseUrl: t.url, temporal, taskQueue, env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } }));
    const admin = await newUser(t.db, 'standalone');
    const caller = callerFor(t.db, admin, { workflows: createWorkflowStarter(client, taskQueue) });
    const team = await caller.teams.create({ name: 'Standalone' });
    const projectId = (await caller.projects.create({ teamId: team.id, name: 'S' })).id;
    const notebook = await caller.notebooks.create({ projectId, name: 'Elsewhere' });
    await setNotebookCells(t.db, notebook.id, [sql('two', 'two', 'select g as k from generate_series(1, 2) as g')]);
    const { runId } = await caller.builds.start({ projectId, notebookId: notebook.id, target: { kind: 'all' } });
    await client.workflow.getHandle(`build-${runId}`).result();
    await tracing.flush();
    // The start span is this process's; the activity span comes from the worker process's exporter.
    await vi.waitFor(
      () => {
        const activity = spans.find((s) => s.name === 'RunActivity:buildStep' && spans.some((x) => x.traceId === s.traceId && x.name === 'StartWorkflow:buildWorkflow' && attr(x, 'temporalWorkflowId') === `build-${runId}`));
        expect(activity).toBeDefined();
      },
      { timeout: 20_000, interval: 250 },
    );
  });

  it('names every request span by its route template or tRPC procedure: no raw id in any span name', { timeout: 30_000 }, async () => {
    expect(built, 'needs the build of the second case').toBeDefined();
    const { admin, projectId, runId, cookie, ids } = built!;
    const { secret } = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'r', scopes: ['read'] } });
    const runPath = `/api/v1/projects/${projectId}/runs/${runId}`;
    const ref = { projectId, runId };
    const batchPath = '/trpc/builds.get,builds.list';
    const sent = [
      fetch(`${baseUrl}${runPath}`, { headers: { authorization: `Bearer ${secret}` } }),
      fetch(`${baseUrl}/trpc/builds.get?input=${encodeURIComponent(JSON.stringify({ json: ref }))}`, { headers: { cookie } }),
      fetch(`${baseUrl}${batchPath}?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { json: ref }, 1: { json: { projectId } } }))}`, { headers: { cookie } }),
      fetch(`${baseUrl}/api/v1/no-such-thing/${runId}`),
    ];
    expect((await Promise.all(sent)).map((r) => r.status)).toEqual([200, 200, 200, 404]);
    await tracing.flush();
    const paths = [runPath, '/trpc/builds.get', batchPath, `/api/v1/no-such-thing/${runId}`];
    await vi.waitFor(() => expect(paths.filter((p) => !serverSpanOf(p))).toEqual([]), { timeout: 10_000, interval: 200 });
    expect(serverSpanOf(runPath)?.name).toBe('GET /api/v1/projects/:projectId/runs/:runId');
    expect(attr(serverSpanOf(runPath)!, 'http.route')).toBe('/api/v1/projects/:projectId/runs/:runId');
    expect(serverSpanOf('/trpc/builds.get')?.name).toBe('GET /trpc/builds.get');
    // A batch keeps the template; its procedures are an attribute.
    expect(serverSpanOf(batchPath)?.name).toBe('GET /trpc/:path');
    expect(attr(serverSpanOf(batchPath)!, 'trpc.procedures')).toBe('builds.get,builds.list');
    // No route matched: the method alone, no template to claim.
    expect(serverSpanOf(`/api/v1/no-such-thing/${runId}`)?.name).toBe('GET');

    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
    const withIds = spans.filter((s) => uuid.test(s.name) || [...ids, 'traced'].some((id) => s.name.includes(id)));
    expect(withIds.map((s) => s.name)).toEqual([]);
    const server = spans.filter((s) => s.kind === 2);
    expect(server.length).toBeGreaterThan(4);
    for (const s of server) expect(String(attr(s, 'http.route') ?? '')).not.toMatch(uuid);
  });
});
