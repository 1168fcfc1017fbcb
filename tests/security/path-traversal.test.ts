import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { appRouter } from '@/server/api/root';
import { restRoutes } from '@/server/api/rest/routes';
import { buildApp } from '@/server/app';
import { createSession } from '@/server/services/auth/session';
import { callerFor, newUser, trpcCode } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

const NO_SUCH = '11111111-1111-4111-8111-111111111111';

/** Path-segment attacks, as they appear in a URL (the router decodes them once). */
const URL_ATTACKS = [
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  '%2e%2e',
  '..',
  '%252e%252e%252fetc%252fpasswd',
  '..%252f..%252fetc%252fpasswd',
  '..%5c..%5cwindows%5cwin.ini',
  '..\\..\\etc\\passwd',
  '%2fetc%2fpasswd',
  '%00',
  'loans%00.csv',
  'loans%00',
  '%c0%ae%c0%ae%c0%af',
  '%ef%bc%8e%ef%bc%8e%ef%bc%8f',
  'C:%5cWindows%5cwin.ini',
  '~%2f.ssh%2fid_rsa',
  'loans%0a',
];
/** The same attacks as decoded strings, for inputs that are not in a URL (tRPC JSON, queries). */
const VALUE_ATTACKS = ['../../../etc/passwd', '..', '..\\..\\etc\\passwd', '/etc/passwd', 'loans\u0000', '\u0000', '%2e%2e%2f', '..%252f', 'loans/../../x', 'loans\n', 'ｌｏａｎｓ', 'C:\\Windows\\win.ini'];

/** Route parameters and tRPC input fields that name a stored thing. */
const IDENTIFIERS = new Set(['name', 'hash', 'notebookId', 'scenario', 'model', 'endpoint', 'dataset', 'bundleHash', 'runId', 'versionId', 'projectId']);
/** Inputs whose `name` is a display name (free text, never a key or a path): out of scope here. */
const DISPLAY_NAMES = new Set(['auth.signUp', 'teams.create', 'projects.create', 'apiKeys.create', 'notebooks.create', 'notebooks.rename', 'notebooks.duplicate']);

describe('no route or procedure that takes a name, hash or id can be walked out of its place', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let projectId: string;
  let cookie: string;
  let admin: Awaited<ReturnType<typeof newUser>>;
  let port: number;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'walker');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Traversal' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'loans');
    cookie = `sb_session=${(await createSession(t.db, admin.userId)).token}`;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const routesWithIds = restRoutes.filter((r) => /\{(name|hash|runId)\}/.test(r.path));
  const urlOf = (path: string, param: string, value: string) =>
    path.replace('{projectId}', param === 'projectId' ? value : projectId).replace(/\{(\w+)\}/g, (_m, p: string) => (p === param ? value : p === 'runId' || p === 'notebookId' ? NO_SUCH : 'nosuch'));
  /**
   * A real HTTP request with the path exactly as written: clients (fetch, inject) would resolve
   * `..` and `%2e%2e` segments before sending, which an attacker's client does not.
   */
  const send = (route: (typeof restRoutes)[number], path: string) =>
    new Promise<{ statusCode: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const body = route.rawBody ? 'x' : route.body ? JSON.stringify({ rows: [{ a: 1 }], records: [{ x: 1 }] }) : undefined;
      const contentType = route.rawBody ? route.rawBody.contentTypes[0]! : 'application/json';
      const req = request({ host: '127.0.0.1', port, method: route.method, path, headers: { cookie, ...(body ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('covers every REST route with a name, hash or run id in its path', () => {
    expect(routesWithIds.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        'GET /api/v1/projects/{projectId}/bundles/{hash}/export',
        'GET /api/v1/projects/{projectId}/datasets/{name}/rows.csv',
        'GET /api/v1/projects/{projectId}/runs/{runId}',
        'POST /api/v1/endpoints/{name}/predict',
        'POST /api/v1/projects/{projectId}/datasets/{name}/rows',
        'POST /api/v1/projects/{projectId}/models/{name}/versions',
        'POST /api/v1/projects/{projectId}/models/{name}/versions/{version}/evaluations',
        'POST /api/v1/projects/{projectId}/scenarios/{name}/runs',
      ].sort(),
    );
  });

  it.each(restRoutes.flatMap((r) => (r.path.match(/\{(\w+)\}/g) ?? []).map((p) => [`${r.method} ${r.path} {${p.slice(1, -1)}}`, r, p.slice(1, -1)] as const)))(
    '%s: every encoded traversal is a 400 naming the parameter, or a 404; never 5xx, never a file',
    async (_n, route, param) => {
      for (const attack of URL_ATTACKS) {
        const res = await send(route, urlOf(route.path, param, attack));
        const what = `${attack} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect([400, 404], what).toContain(res.statusCode);
        expect(res.headers['content-type'], what).toMatch(/application\/json/);
        const { error } = JSON.parse(res.body) as { error: { code: string; message: string; field?: string } };
        // A 400 names the parameter, or says the URL itself is malformed (not decodable).
        if (res.statusCode === 400 && error.code !== 'bad_request') expect(error.field, what).toBe(param);
        expect(res.body, what).not.toMatch(/root:x?:0:0|\[fonts\]|PRIVATE KEY/);
      }
    },
  );

  it('the upload query name is validated the same way', async () => {
    for (const value of VALUE_ATTACKS) {
      const res = await app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets?name=${encodeURIComponent(value)}`, headers: { cookie, 'content-type': 'text/csv' }, payload: 'a\n1\n' });
      expect(res.statusCode, `${JSON.stringify(value)} -> ${res.body}`).toBe(400);
      expect((res.json() as { error: { field: string } }).error.field).toBe('name');
    }
  });

  /** A value for every other field, so that only the identifier under attack is wrong. */
  const filler: Record<string, unknown> = {
    projectId: undefined,
    environment: 'design',
    limit: 10,
    offset: 0,
    version: 1,
    reason: 'attack',
    releaseNotes: 'attack',
    confirmFailedBuild: true,
    records: [{ x: 1 }],
    column: 'a',
    type: 'text',
    range: '1h',
    window: { last: 100 },
    message: 'attack',
    from: 1,
    to: 2,
    target: { kind: 'all' },
    output: 'out',
    description: '',
  };
  const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { inputs: unknown[] } }>).flatMap(([path, p]) => {
    const input = p._def.inputs[0];
    if (!(input instanceof z.ZodObject) || DISPLAY_NAMES.has(path)) return [];
    return Object.keys(input.shape)
      .filter((k) => IDENTIFIERS.has(k))
      .map((key) => [path, key, Object.keys(input.shape)] as const);
  });

  it(`tRPC: every procedure taking an identifier refuses traversal values with BAD_REQUEST or NOT_FOUND (${procedures.length} fields)`, async () => {
    const caller = callerFor(t.db, admin) as unknown as Record<string, Record<string, (input: unknown) => Promise<unknown>>>;
    const failures: string[] = [];
    for (const [path, key, keys] of procedures) {
      const [ns, proc] = path.split('.') as [string, string];
      const base = Object.fromEntries(keys.map((k) => [k, k === 'projectId' ? projectId : IDENTIFIERS.has(k) ? (/Id$/.test(k) ? NO_SUCH : k === 'hash' || k === 'bundleHash' ? 'f'.repeat(64) : 'nosuch') : filler[k]]));
      for (const value of VALUE_ATTACKS) {
        const code = await trpcCode(caller[ns]![proc]!({ ...base, [key]: value }));
        if (code !== 'BAD_REQUEST' && code !== 'NOT_FOUND') failures.push(`${path} ${key}=${JSON.stringify(value)}: ${code}`);
      }
    }
    expect(failures).toEqual([]);
    expect(procedures.length).toBeGreaterThan(40);
  }, 120_000);
});
