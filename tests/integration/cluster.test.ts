import { createReadStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import type { Client } from '@temporalio/client';
import { schemaNameOf } from '@/server/services/datasets/storage';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { importOnnxModel } from '@/server/services/models/import-onnx-model';
import { connectTemporal } from '@/workflows/client';
import { ensureNextBuild, trpcMutation } from '../e2e/server';
import { callerFor, ctxFor } from '../helpers/api';
import { startBalancer, startCluster, portOf, type Balancer, type Cluster } from '../helpers/cluster';
import { connectClient, cookieFor, covers, randomEdit, seedNotebook, seededRandom, storedSnapshot, storedStateVector, tokenFor, type Seeded, type TestClient } from '../helpers/collab';
import { creditDataCsv, disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint, tinyOnnxModel } from '../helpers/models';
import { attr, startReceiver, type OtlpSpan } from '../helpers/otlp-receiver';
import { setNotebookCells, sql, ts } from '../helpers/pipeline';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';

/**
 * The scale-out topology as separate OS processes (issue 16): 2 web (live edits relayed through
 * Postgres LISTEN/NOTIFY), 1 api and 2 worker processes on one fresh Postgres database and one
 * Temporal dev server. The processes are started once and shared by the cases, which run in order;
 * the last two kill a worker and a web process.
 */
const CLEAN_ROWS = 4454 - 381;
const wsOf = (baseUrl: string) => `${baseUrl.replace('http', 'ws')}/collab`;
const vectorOf = (doc: Y.Doc) => Y.decodeStateVector(Y.encodeStateVector(doc));

describe('a cluster of web, api and worker processes', () => {
  let temporal: TestTemporal;
  let t: TestDatabase;
  let cluster: Cluster;
  let temporalClient: Client;
  let s: Seeded;
  const clients: TestClient[] = [];
  const balancers: Balancer[] = [];
  const spans: OtlpSpan[] = [];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    ensureNextBuild();
    [temporal, t] = await Promise.all([useTestTemporal(), openTestDatabase('postgres')]);
    // The accounts exist before the web processes start: none of them bootstraps a first admin.
    s = await seedNotebook(t.db, 'cluster');
    // Every process exports traces to this receiver (OTLP/HTTP).
    receiver = await startReceiver(spans);
    cluster = await startCluster({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      DATABASE_URL: t.url,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('cluster'),
    });
    temporalClient = await connectTemporal(temporal.address, temporal.namespace);
  }, 300_000);

  afterAll(async () => {
    for (const c of clients) c.destroy();
    for (const b of balancers) await b.close();
    await temporalClient?.connection.close();
    await cluster?.stop();
    await receiver?.close();
    await disposeWithProjectRoles(t);
    await temporal?.stop();
  }, 60_000);

  it('two stock y-websocket clients on different web processes co-edit one notebook and converge with what is stored', { timeout: 60_000 }, async () => {
    const token = await tokenFor(t.db, s.users.editor, s);
    const [a, b] = cluster.web.map((w) => connectClient(wsOf(w.baseUrl), s.notebookId, { token })) as [TestClient, TestClient];
    clients.push(a, b);
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true), { timeout: 20_000 });
    const rnd = seededRandom(1616);
    for (let round = 0; round < 40; round++) {
      randomEdit(a.doc, rnd, `a${round}`);
      randomEdit(b.doc, rnd, `b${round}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    await vi.waitFor(
      async () => {
        const stored = await storedSnapshot(t.db, s.notebookId);
        expect(a.snapshot()).toEqual(stored);
        expect(b.snapshot()).toEqual(stored);
      },
      { timeout: 30_000, interval: 200 },
    );
    expect(a.snapshot().cells.length).toBeGreaterThan(0);
    // Each saw the other's edits: both clients' operations are in both documents.
    expect(covers(vectorOf(a.doc), vectorOf(b.doc)) && covers(vectorOf(b.doc), vectorOf(a.doc))).toBe(true);
    a.destroy();
    b.destroy();
  });

  it('an endpoint version switch made on a web process is served by the api process at once (its cache is invalidated by NOTIFY)', { timeout: 60_000 }, async () => {
    const admin = s.users.admin;
    await tinyEndpoint(t.db, admin, s.projectId, 'twin', 'twin-model');
    await importOnnxModel({ ctx: ctxFor(t.db, admin), input: { projectId: s.projectId, name: 'twin-model' }, body: await tinyOnnxModel() });
    const { secret } = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId: s.projectId, name: 'score', scopes: ['score:twin'] } });
    const predict = async () => {
      const res = await fetch(`${cluster.api.baseUrl}/api/v1/endpoints/twin/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ x: 3, kind: 'a' }] }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return ((await res.json()) as { modelVersion: number }).modelVersion;
    };
    // Cached on the api process: the endpoint config stays 60 s, the ONNX session 10 s.
    expect(await predict()).toBe(1);
    expect(await predict()).toBe(1);
    const cookie = await cookieFor(t.db, admin);
    const seenWithin = async (version: number) => {
      const started = performance.now();
      while ((await predict()) !== version) {
        if (performance.now() - started > 5_000) throw new Error(`the api process still serves another version than ${version} after 5 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return performance.now() - started;
    };
    await trpcMutation(cluster.web[0]!.baseUrl, 'endpoints.update', { projectId: s.projectId, name: 'twin', version: 2 }, cookie);
    const pinMs = await seenWithin(2);
    await trpcMutation(cluster.web[1]!.baseUrl, 'endpoints.update', { projectId: s.projectId, name: 'twin', version: 1 }, cookie);
    const backMs = await seenWithin(1);
    console.log(`cluster: version switch seen by the api process after ${pinMs.toFixed(0)} ms and ${backMs.toFixed(0)} ms`);
    // The bound. A cache expiry could not explain it (60 s); only the notification can.
    expect(Math.max(pinMs, backMs)).toBeLessThan(1_000);
  });

  it('SIGKILL of the worker running a build step leaves the other worker to finish it with correct data', { timeout: 150_000 }, async () => {
    const caller = callerFor(t.db, s.users.admin);
    await uploadDataset({ ctx: ctxFor(t.db, s.users.admin), input: { projectId: s.projectId, name: 'credit', environment: 'design' }, csv: createReadStream(creditDataCsv) });
    const notebook = await caller.notebooks.create({ projectId: s.projectId, name: 'Durable' });
    await setNotebookCells(t.db, notebook.id, [
      sql('clean', 'clean', 'select row_number() over (order by seniority, age, amount, price, income, expenses, assets, debt, time) as id, * from credit where income is not null'),
      // About 1 ms a row: the worker is killed while this step has written part of its rows.
      ts(
        'scored',
        ['clean'],
        'scored',
        'export default function (rows, emit) {\n  for (const r of rows) { const until = Date.now() + 1; while (Date.now() < until) {} emit({ id: r.id, ratio: r.amount / r.income }); }\n}',
      ),
      sql('summary', 'summary', 'select count(*) as n, count(distinct id) as ids from scored'),
    ]);
    const { secret } = await createApiKey({ ctx: ctxFor(t.db, s.users.admin), input: { projectId: s.projectId, name: 'ci', scopes: ['read', 'run'] } });
    const auth = { authorization: `Bearer ${secret}`, 'content-type': 'application/json' };
    const started = await fetch(`${cluster.api.baseUrl}/api/v1/projects/${s.projectId}/builds`, { method: 'POST', headers: auth, body: JSON.stringify({ notebookId: notebook.id }) });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const handle = temporalClient.workflow.getHandle(`build-${runId}`);

    // The ts step runs on one of the two workers and has reported rows: that worker dies.
    let identity = '';
    await vi.waitFor(
      async () => {
        const { raw } = await handle.describe();
        // clean -> scored -> summary is a chain: one buildStepChain activity runs them.
        const step = raw.pendingActivities?.find((a) => ['buildStep', 'buildStepChain'].includes(a.activityType?.name ?? '') && a.heartbeatDetails?.payloads?.length);
        const details = step?.heartbeatDetails?.payloads?.map((p) => Buffer.from(p.data ?? []).toString()).join('') ?? '';
        expect(details).toMatch(/ts: [1-9]\d* rows in/);
        identity = step?.lastWorkerIdentity ?? '';
      },
      { timeout: 90_000, interval: 100 },
    );
    const victim = cluster.workers.find((w) => identity.startsWith(`${w.pid}@`));
    expect(victim, `no worker process has identity ${identity}`).toBeDefined();
    process.kill(-victim!.pid, 'SIGKILL');

    await vi.waitFor(
      async () => {
        const res = await fetch(`${cluster.api.baseUrl}/api/v1/projects/${s.projectId}/runs/${runId}`, { headers: auth });
        expect(((await res.json()) as { status: string }).status).toBe('succeeded');
      },
      { timeout: 90_000, interval: 250 },
    );
    const survivor = cluster.workers.find((w) => w !== victim)!;
    const schema = `"${schemaNameOf(s.projectId, 'design')}"`;
    expect((await t.query(`select n::int, ids::int from ${schema}.summary`))[0]).toEqual({ n: CLEAN_ROWS, ids: CLEAN_ROWS });
    const [wrong] = await t.query(`select count(*)::int as n from ${schema}.scored s join ${schema}.clean c using (id) where abs(s.ratio - c.amount::float8 / c.income) > 1e-9`);
    expect(wrong).toEqual({ n: 0 });
    const build = await caller.builds.get({ projectId: s.projectId, runId });
    const step = build.steps.find((x) => x.stepId === 'scored')!;
    expect(step).toMatchObject({ status: 'succeeded', rowCount: CLEAN_ROWS });
    expect(step.log.join('\n')).toMatch(/attempt [2-9]: starting over/);
    // The survivor is still healthy, the victim gone.
    expect((await fetch(`${survivor.baseUrl}/api/health`)).status).toBe(200);
    // One trace across processes: the REST request on the api process, and under it the step the
    // surviving worker ran (context carried in Temporal headers).
    await vi.waitFor(
      () => {
        const request = spans.find((x) => x.kind === 2 && attr(x, 'http.target') === `/api/v1/projects/${s.projectId}/builds`);
        expect(request).toBeDefined();
        // A step of a chain is a BuildStep span under its chain's activity.
        const steps = spans.filter((x) => x.traceId === request!.traceId && (x.name === 'RunActivity:buildStep' || x.name === 'BuildStep'));
        expect(steps.length).toBeGreaterThanOrEqual(3);
      },
      { timeout: 15_000, interval: 250 },
    );
  });

  it('SIGKILL of a web process mid-edit loses no acknowledged edit: its clients reconnect to the other one', { timeout: 90_000 }, async () => {
    const k = await seedNotebook(t.db, 'kill');
    const [web1, web2] = cluster.web as [Cluster['web'][0], Cluster['web'][0]];
    const balancer = await startBalancer([portOf(web1), portOf(web2)]);
    balancers.push(balancer);
    const token = await tokenFor(t.db, k.users.editor, k);
    // A reaches the cluster through the balancer (web 1 first); B is on web 2.
    const a = connectClient(balancer.url, k.notebookId, { token });
    const b = connectClient(wsOf(web2.baseUrl), k.notebookId, { token });
    clients.push(a, b);
    await vi.waitFor(() => expect(a.provider.synced && b.provider.synced).toBe(true), { timeout: 20_000 });
    expect(balancer.connectionsTo.get(portOf(web1))).toBe(1);

    const rnds = [seededRandom(71), seededRandom(72)];
    let n = 0;
    const editing = setInterval(() => {
      randomEdit(a.doc, rnds[0]!, `a${n}`);
      randomEdit(b.doc, rnds[1]!, `b${n}`);
      n++;
    }, 5);
    let acknowledged = new Map<number, number>();
    try {
      // B has received A's edits through web 1, Postgres and web 2: relayed only once stored.
      await vi.waitFor(() => expect(vectorOf(b.doc).get(a.doc.clientID) ?? 0).toBeGreaterThan(50), { timeout: 20_000 });
      process.kill(-web1.pid, 'SIGKILL');
      // What the cluster had acknowledged (stored) when web 1 died.
      acknowledged = await storedStateVector(t.db, k.notebookId);
      expect(acknowledged.get(a.doc.clientID) ?? 0).toBeGreaterThan(0);
      const atKill = n;
      await vi.waitFor(() => expect(balancer.connectionsTo.get(portOf(web2)) ?? 0).toBeGreaterThan(0), { timeout: 20_000 });
      await vi.waitFor(() => expect(a.provider.synced && n > atKill + 20).toBe(true), { timeout: 20_000 });
    } finally {
      clearInterval(editing);
    }
    await vi.waitFor(
      async () => {
        const stored = await storedStateVector(t.db, k.notebookId);
        expect(covers(stored, acknowledged)).toBe(true);
        for (const c of [a, b]) expect(covers(stored, vectorOf(c.doc))).toBe(true);
        const snapshot = await storedSnapshot(t.db, k.notebookId);
        expect(a.snapshot()).toEqual(snapshot);
        expect(b.snapshot()).toEqual(snapshot);
      },
      { timeout: 30_000, interval: 200 },
    );
  });
});
