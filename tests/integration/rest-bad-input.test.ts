import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { restRoutes } from '@/server/api/rest/routes';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

const NO_SUCH = '11111111-1111-4111-8111-111111111111';

describe('REST answers every malformed request with a 4xx that says what was wrong', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let auth: Record<string, string>;
  let projectId: string;

  beforeAll(async () => {
    t = await openTestDatabase('embedded');
    const admin = await newUser(t.db, 'rest');
    const team = await callerFor(t.db, admin).teams.create({ name: 'REST' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'all', scopes: ['read', 'run', 'ingest:loans', 'score:loans', 'deploy'] } });
    await tinyEndpoint(t.db, admin, projectId, 'loans');
    auth = { authorization: `Bearer ${key.secret}` };
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const urlOf = (path: string, pid = projectId, runId = NO_SUCH) => path.replace('{projectId}', pid).replace('{runId}', runId).replace('{name}', 'loans').replace('{version}', '1');
  /** What each JSON route says about a body missing its fields, or with fields of the wrong type. */
  const bodyCases: Record<string, { missing: RegExp; wrongTypes: unknown; wrongField: RegExp }> = {
    'POST /api/v1/projects/{projectId}/builds': { missing: /notebookId/, wrongTypes: { notebookId: 7, target: 'all' }, wrongField: /notebookId|target/ },
    'POST /api/v1/projects/{projectId}/datasets/{name}/rows': { missing: /rows/, wrongTypes: { rows: 'many' }, wrongField: /rows/ },
    'POST /api/v1/endpoints/{name}/predict': { missing: /records/, wrongTypes: { records: 'many' }, wrongField: /records/ },
    'POST /api/v1/projects/{projectId}/models/{name}/versions/{version}/evaluations': { missing: /dataset/, wrongTypes: { dataset: 7 }, wrongField: /dataset/ },
    'POST /api/v1/projects/{projectId}/bundles': { missing: /notebookId|releaseNotes/, wrongTypes: { notebookId: 7, releaseNotes: ['x'] }, wrongField: /notebookId/ },
    'POST /api/v1/projects/{projectId}/deployments': { missing: /bundleHash|reason/, wrongTypes: { bundleHash: 7, reason: ['x'] }, wrongField: /bundleHash/ },
    'POST /api/v1/projects/{projectId}/deployments/rollback': { missing: /reason/, wrongTypes: { bundleHash: 'abc', reason: 3 }, wrongField: /bundleHash|reason/ },
    'POST /api/v1/projects/{projectId}/query': { missing: /sql/, wrongTypes: { sql: 7, limit: 'many' }, wrongField: /sql|limit/ },
  };
  const expectError = (res: { statusCode: number; json: () => unknown }, status: number, mention?: RegExp) => {
    expect(res.statusCode).toBe(status);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toMatch(/^[a-z_]+$/);
    expect(body.error.message.length).toBeGreaterThan(5);
    if (mention) expect(body.error.message).toMatch(mention);
  };

  it.each(restRoutes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: no credentials is 401, a bad key 401', async (_n, route) => {
    const url = urlOf(route.path) + (route.path === '/api/v1/audit' ? `?projectId=${projectId}` : '');
    expectError(await app.inject({ method: route.method, url }), 401);
    expectError(await app.inject({ method: route.method, url, headers: { authorization: 'Bearer sbk_not-a-real-key' } }), 401);
  });

  it.each(restRoutes.filter((r) => r.path.includes('{projectId}')).map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: a malformed id is 400 naming it, an unknown one 404',
    async (_n, route) => {
      expectError(await app.inject({ method: route.method, url: urlOf(route.path, 'not-a-uuid'), headers: auth, payload: route.body ? {} : undefined }), 400, /projectId/);
      expectError(await app.inject({ method: route.method, url: urlOf(route.path, NO_SUCH), headers: auth, payload: route.body ? {} : undefined }), 404, /project/);
    },
  );

  it.each(restRoutes.filter((r) => r.body).map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: malformed JSON, missing fields, wrong types, wrong content type and oversized bodies are refused',
    async (_n, route) => {
      const url = urlOf(route.path);
      const json = { ...auth, 'content-type': 'application/json' };
      expectError(await app.inject({ method: route.method, url, headers: json, payload: '{"kind": "hello", ' }), 400, /JSON/i);
      const cases = bodyCases[`${route.method} ${route.path}`];
      expect(cases, `bodyCases has an entry for ${route.method} ${route.path}`).toBeDefined();
      expectError(await app.inject({ method: route.method, url, headers: json, payload: '{}' }), 400, cases!.missing);
      expectError(await app.inject({ method: route.method, url, headers: json, payload: '[1,2]' }), 400, /body/);
      expectError(await app.inject({ method: route.method, url, headers: json, payload: JSON.stringify(cases!.wrongTypes) }), 400, cases!.wrongField);
      expectError(await app.inject({ method: route.method, url, headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' }), 415);
      const huge = JSON.stringify({ kind: 'hello', message: 'x'.repeat(2 * 1024 * 1024) });
      expectError(await app.inject({ method: route.method, url, headers: json, payload: huge }), 413);
    },
  );

  it('names the bad field of a build request and of an audit query', async () => {
    const res = await app.inject({ method: 'POST', url: urlOf('/api/v1/projects/{projectId}/builds'), headers: auth, payload: { notebookId: 'nope' } });
    expectError(res, 400, /notebookId/);
    expect((res.json() as { error: { field: string } }).error.field).toBe('notebookId');
    expectError(await app.inject({ method: 'GET', url: `/api/v1/audit?projectId=${projectId}&limit=abc`, headers: auth }), 400, /limit/);
    expectError(await app.inject({ method: 'GET', url: `/api/v1/audit?projectId=${projectId}&limit=100000`, headers: auth }), 400, /limit/);
    expectError(await app.inject({ method: 'GET', url: `/api/v1/audit?projectId=${projectId}&action=user.explode`, headers: auth }), 400, /action/);
    expectError(await app.inject({ method: 'GET', url: `/api/v1/audit?projectId=${projectId}&from=yesterday`, headers: auth }), 400, /from/);
    expectError(await app.inject({ method: 'GET', url: `/api/v1/audit`, headers: auth }), 400, /projectId|teamId/);
    expectError(await app.inject({ method: 'GET', url: urlOf('/api/v1/projects/{projectId}/runs', projectId) + '?limit=-1', headers: auth }), 400, /limit/);
    expectError(await app.inject({ method: 'GET', url: urlOf('/api/v1/projects/{projectId}/runs/{runId}', projectId, 'x'), headers: auth }), 400, /runId/);
    expectError(await app.inject({ method: 'GET', url: urlOf('/api/v1/projects/{projectId}/runs/{runId}'), headers: auth }), 404, /run/);
    expectError(await app.inject({ method: 'GET', url: '/api/v1/nowhere', headers: auth }), 404, /no route/);
  });

  it('refuses malformed dataset uploads and row appends with a message naming the problem', async () => {
    const upload = (query: string, payload: string, type = 'text/csv') =>
      app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets${query}`, headers: { ...auth, 'content-type': type }, payload });
    expectError(await upload('?name=loans', '{"a": 1}', 'application/json'), 415, /text\/csv/);
    expectError(await upload('?name=loans', 'a,b\n1,2\n', 'text/plain'), 415);
    expectError(await upload('', 'a,b\n1,2\n'), 403, /ingest:undefined/);
    expectError(await upload('?name=Loans', 'a,b\n1,2\n'), 403, /ingest:Loans/);
    expectError(await upload('?name=loans&types=a:float', 'a,b\n1,2\n'), 400, /types/);
    expectError(await upload('?name=loans&environment=staging', 'a,b\n1,2\n'), 400, /environment/);
    expectError(await upload('?name=loans', 'a,b\n1,2\n3\n'), 400, /line 3, column 2 \(b\)/);
    expectError(await upload('?name=loans', 'a,b\n1,"2\n'), 400, /line \d+: Quote Not Closed/);
    const rows = (body: unknown) => app.inject({ method: 'POST', url: urlOf('/api/v1/projects/{projectId}/datasets/{name}/rows'), headers: auth, payload: body as object });
    expectError(await rows({ rows: [{ a: 1 }] }), 404, /dataset "loans"/);
    expectError(await rows({ rows: ['x'] }), 400, /rows\.0/);
    expectError(await app.inject({ method: 'POST', url: urlOf('/api/v1/projects/{projectId}/datasets/{name}/rows').replace('loans', 'Bad%20Name'), headers: auth, payload: { rows: [{}] } }), 403);
  });

  it('serves an OpenAPI 3.1 document describing every route', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { operationId: string; parameters: { name: string }[] }>> };
    expect(doc.openapi).toBe('3.1.0');
    for (const r of restRoutes) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op?.operationId).toBe(r.operationId);
      for (const name of r.path.match(/\{(\w+)\}/g) ?? []) expect(op?.parameters.map((p) => p.name)).toContain(name.slice(1, -1));
    }
    expect(doc.paths['/api/v1/audit']?.get?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['projectId', 'action', 'cursor', 'limit']));
  });

  it('reports health with the database state and version', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'ok', database: { ok: true, driver: 'embedded' }, version: expect.any(String) });
  });
});
