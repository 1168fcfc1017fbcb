import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '@/db/client';
import { storeNotebookCells } from '@/server/services/notebooks/store-cells';
import { ensureNextBuild, startServer, type ServerChild } from '../e2e/server';
import { createPostgresDatabase } from '../helpers/db';
import { uniqueTaskQueue, useTestTemporal, type TestTemporal } from '../helpers/temporal';
import { trpcHttpClient as client } from '../helpers/trpc-http';

/**
 * An account with a project and a notebook whose one SQL cell takes `seconds` inside Postgres. The
 * cell goes in through the service on the server's database (what the editor would store).
 */
async function setUpProject(web: ReturnType<typeof client>, databaseUrl: string, seconds: number) {
  const email = `ops-${Date.now()}@example.com`;
  await web.mutate('auth.signUp', { email, name: 'Ops', password: 'a long enough password' });
  await web.mutate('auth.signIn', { email, password: 'a long enough password' });
  const team = await web.mutate('teams.create', { name: 'Ops' });
  const project = await web.mutate('projects.create', { teamId: team.id, name: 'Nightly' });
  const notebook = await web.mutate('notebooks.create', { projectId: project.id, name: 'Nightly' });
  const d = await openDatabase({ url: databaseUrl, poolSize: 1 });
  try {
    await storeNotebookCells(d.db, notebook.id as string, [{ id: 'nightly', kind: 'sql', source: `-- writes: nightly\nselect g as k from generate_series(1, 3) as g, pg_sleep(${seconds})` }]);
  } finally {
    await d.close();
  }
  return { teamId: team.id as string, projectId: project.id as string, notebookId: notebook.id as string };
}

function embeddedUrl(home: string): string {
  const password = readFileSync(`${home}/pg/password`, 'utf8').trim();
  const port = readFileSync(`${home}/pg/port`, 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/stagebook`;
}

describe('deployment shapes', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('runs web, api and worker as separate processes against shared Postgres and Temporal', { timeout: 240_000 }, async () => {
    ensureNextBuild();
    const temporal: TestTemporal = await useTestTemporal();
    cleanups.push(temporal.stop);
    const db = await createPostgresDatabase();
    cleanups.push(db.drop);
    const env = { DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('roles') };
    // Migrations run at start; start the worker first so two processes do not migrate at once.
    const worker = await startServer({ role: 'worker', env });
    cleanups.push(() => worker.stop());
    const [webSrv, apiSrv] = await Promise.all([startServer({ role: 'web', env }), startServer({ role: 'api', env })]);
    cleanups.push(() => webSrv.stop(), () => apiSrv.stop());

    const web = client(webSrv.baseUrl);
    const { projectId, notebookId } = await setUpProject(web, db.url, 0);
    const key = await web.mutate('apiKeys.create', { projectId, name: 'ci', scopes: ['read', 'run'] });
    const auth = { authorization: `Bearer ${key.secret as string}`, 'content-type': 'application/json' };

    // Each role serves only its own surface.
    expect((await fetch(`${apiSrv.baseUrl}/trpc/auth.me`)).status).toBe(404);
    expect((await fetch(`${webSrv.baseUrl}/api/v1/projects/${projectId}`, { headers: auth })).status).toBe(404);
    expect((await fetch(`${webSrv.baseUrl}/sign-in`)).status).toBe(200);
    const workerHealth = (await (await fetch(`${worker.baseUrl}/api/health`)).json()) as { role: string; database: { ok: boolean } };
    expect(workerHealth).toMatchObject({ role: 'worker', database: { ok: true } });
    expect((await fetch(`${worker.baseUrl}/api/v1/projects/${projectId}`, { headers: auth })).status).toBe(404);

    // A build started over REST on the api role is executed by the worker process.
    const started = await fetch(`${apiSrv.baseUrl}/api/v1/projects/${projectId}/builds`, { method: 'POST', headers: auth, body: JSON.stringify({ notebookId }) });
    expect(started.status).toBe(202);
    const run = (await started.json()) as { runId: string };
    await vi.waitFor(
      async () => {
        const res = await fetch(`${apiSrv.baseUrl}/api/v1/projects/${projectId}/runs/${run.runId}`, { headers: auth });
        expect(((await res.json()) as { status: string }).status).toBe('succeeded');
      },
      { timeout: 60_000, interval: 250 },
    );
  });

  it('keeps accounts, data and in-flight workflows across a restart on the embedded defaults', { timeout: 240_000 }, async () => {
    ensureNextBuild();
    const home = mkdtempSync(path.join(tmpdir(), 'sb-restart-'));
    cleanups.push(async () => rmSync(home, { recursive: true, force: true }));
    let server: ServerChild = await startServer({ home, keepHome: true });
    const web = client(server.baseUrl);
    const { projectId, notebookId } = await setUpProject(web, embeddedUrl(home), 6);
    const run = await web.mutate('builds.start', { projectId, notebookId, target: { kind: 'all' } });
    await vi.waitFor(async () => expect((await web.query('builds.get', { projectId, runId: run.runId })).status).toBe('running'), { timeout: 30_000, interval: 100 });

    await server.stop();
    server = await startServer({ home, keepHome: true });
    cleanups.push(() => server.stop());
    web.rebase(server.baseUrl);
    // Same embedded PostgreSQL data: the session cookie from before the restart still signs us in.
    expect(await web.query('auth.me')).toMatchObject({ name: 'Ops' });
    // Same Temporal state: the build that was mid-step at shutdown finishes and publishes its dataset.
    await vi.waitFor(
      async () => {
        const r = await web.query('builds.get', { projectId, runId: run.runId });
        expect(r.status).toBe('succeeded');
        expect((r.steps as { status: string; rowCount: number }[]).map((s) => [s.status, s.rowCount])).toEqual([['succeeded', 3]]);
      },
      { timeout: 90_000, interval: 250 },
    );
  });
});
