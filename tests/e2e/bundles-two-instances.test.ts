/**
 * Two real Stagebook servers (role api), each with its own STAGEBOOK_HOME, task queue and database
 * (a database of its own on the Postgres server: role api needs DATABASE_URL and TEMPORAL_ADDRESS,
 * and role all would need a web build this test has no use for): a bundle promoted on the first is exported with the CLI over the first's REST API,
 * imported and deployed with the CLI over the second's, and scored through the second's endpoint.
 * Each home is seeded before its server starts (account, project, API keys, model, notebook cells):
 * the test is about moving bundles, not about editing notebooks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@/db/client';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { createPostgresDatabase } from '../helpers/db';
import { uniqueTaskQueue, useTestTemporal } from '../helpers/temporal';
import { endpointCell, records, registerTinyVersion } from '../helpers/bundles';
import { setNotebookCells, sql } from '../helpers/pipeline';
import { repoRoot, startServer, type ServerChild } from './server';

const run = promisify(execFile);
type Seeded = { home: string; url: string; drop: () => Promise<void>; projectId: string; deployKey: string; scoreKey: string };

async function seed(name: string, endpoint: string, withNotebook: boolean): Promise<Seeded> {
  const home = mkdtempSync(path.join(tmpdir(), `sb-e2e-${name}-`));
  const { url, drop } = await createPostgresDatabase();
  const d = await openDatabase({ url, poolSize: 2 });
  try {
    await d.migrate();
    const user = await newUser(d.db, name);
    const team = await callerFor(d.db, user).teams.create({ name });
    const projectId = (await callerFor(d.db, user).projects.create({ teamId: team.id, name })).id;
    const ctx = ctxFor(d.db, user);
    const deployKey = (await createApiKey({ ctx, input: { projectId, name: 'ci', scopes: ['deploy', 'read'] } })).secret;
    const scoreKey = (await createApiKey({ ctx, input: { projectId, name: 'app', scopes: [`score:${endpoint}`] } })).secret;
    if (withNotebook) {
      await registerTinyVersion(d.db, user, projectId, 'risk', 0.2);
      const notebookId = (await callerFor(d.db, user).notebooks.create({ projectId, name: 'Credit' })).id;
      await setNotebookCells(d.db, notebookId, [
        { id: 'md', kind: 'markdown', source: '# Credit risk' },
        sql('one', 'one_row', 'select 1 as x'),
        endpointCell('ep', endpoint, 'risk', 'Scores loan applications'),
      ]);
      return { home, url, drop, projectId, deployKey, scoreKey, notebookId } as Seeded & { notebookId: string };
    }
    return { home, url, drop, projectId, deployKey, scoreKey };
  } finally {
    await d.close();
  }
}

/** Role api serves REST (not tRPC): what CI/CD would call. */
async function rest(baseUrl: string, method: 'GET' | 'POST', url: string, key: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json: unknown = await res.json();
  if (!res.ok) throw new Error(`${method} ${url} failed with ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

const cli = (...args: string[]) => run(process.execPath, ['server/launch.mjs', 'bundle', ...args], { cwd: repoRoot, timeout: 120_000 });

describe('moving a bundle between two Stagebook instances', () => {
  const endpoint = 'credit-prod';
  let first: ServerChild;
  let second: ServerChild;
  let a: Seeded & { notebookId?: string };
  let b: Seeded;
  const work = mkdtempSync(path.join(tmpdir(), 'sb-e2e-bundle-file-'));

  beforeAll(async () => {
    [a, b] = await Promise.all([seed('first', endpoint, true), seed('second', endpoint, false)]);
    const temporal = await useTestTemporal();
    [first, second] = await Promise.all([
      startServer({ home: a.home, role: 'api', env: { DATABASE_URL: a.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('first') }, readyTimeoutMs: 180_000 }),
      startServer({ home: b.home, role: 'api', env: { DATABASE_URL: b.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('second') }, readyTimeoutMs: 180_000 }),
    ]);
  }, 300_000);
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await Promise.all([a?.drop(), b?.drop()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('promotes on the first, exports and imports with the CLI over REST, deploys on the second and scores there', async () => {
    const t0 = performance.now();
    const promoted = (await rest(first.baseUrl, 'POST', `/api/v1/projects/${a.projectId}/bundles`, a.deployKey, { notebookId: a.notebookId, releaseNotes: 'credit v1', confirmFailedBuild: true })) as {
      bundle: { hash: string; sizeBytes: number };
    };
    const hash = promoted.bundle.hash;
    const tPromote = performance.now();

    const file = path.join(work, 'credit.sbundle.tgz');
    const exported = await cli('export', '--url', first.baseUrl, '--project', a.projectId, '--hash', hash, '--out', file, '--key', a.deployKey);
    expect(exported.stdout).toContain(`exported bundle ${hash}`);
    const tExport = performance.now();

    const imported = await cli('import', '--url', second.baseUrl, '--project', b.projectId, '--file', file, '--key', b.deployKey, '--deploy', '--reason', 'moved from the first instance');
    expect(imported.stdout).toContain(`imported bundle ${hash} (new model versions: risk v1)`);
    expect(imported.stdout).toContain(`deployed bundle ${hash} to production`);
    const tImport = performance.now();

    const res = await fetch(`${second.baseUrl}/api/v1/endpoints/${endpoint}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${b.scoreKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ endpoint, model: 'risk', modelVersion: 1, bundle: hash, predictions: [{ label: expect.any(String) }, { label: expect.any(String) }] });
    // The first instance never deployed: its production has no such endpoint.
    expect((await fetch(`${first.baseUrl}/api/v1/endpoints/${endpoint}/predict`, { method: 'POST', headers: { authorization: `Bearer ${a.scoreKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ records }) })).status).toBe(404);

    const history = (await rest(second.baseUrl, 'GET', `/api/v1/projects/${b.projectId}/deployments`, b.deployKey)) as { bundleHash: string; reason: string }[];
    expect(history).toMatchObject([{ bundleHash: hash, reason: 'moved from the first instance' }]);

    // A tampered file is refused by the CLI with the server's 400.
    const bytes = readFileSync(file);
    bytes[bytes.length - 12]! ^= 0xff;
    const tampered = path.join(work, 'tampered.sbundle.tgz');
    (await import('node:fs')).writeFileSync(tampered, bytes);
    const refused = await cli('import', '--url', second.baseUrl, '--project', b.projectId, '--file', tampered, '--key', b.deployKey).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/400: the bundle file is not valid/) });

    console.log(
      `[bundles e2e] promote ${(tPromote - t0).toFixed(0)} ms, export (CLI incl. node start) ${(tExport - tPromote).toFixed(0)} ms, ` +
        `import+deploy (CLI incl. node start) ${(tImport - tExport).toFixed(0)} ms; bundle ${promoted.bundle.sizeBytes} bytes, file ${statSync(file).size} bytes`,
    );
  }, 240_000);
});
