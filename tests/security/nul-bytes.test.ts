import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { restRoutes } from '@/server/api/rest/routes';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

// What Postgres refuses to store: NUL in text and jsonb, an unpaired surrogate in jsonb.
const NUL = 'bad\u0000name';
const LONE_SURROGATE = 'bad\ud800name';
const SOME_UUID = '11111111-1111-4111-8111-111111111111';
const TABLES = ['users', 'teams', 'team_members', 'projects', 'notebooks', 'notebook_versions', 'api_keys', 'audit_events', 'runs', 'bundles', 'deployments', 'datasets', 'sessions'];

describe('text Postgres cannot store is a 400 naming the field, and nothing is written', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let cookie: string;
  let teamId: string;
  let projectId: string;
  let notebookId: string;
  let bearer: string;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
    const res = await app.inject({ method: 'POST', url: '/trpc/auth.signUp', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ json: { email: 'nul@example.com', name: 'Nul', password: 'a long password' } }) });
    expect(res.statusCode).toBe(200);
    const signIn = await app.inject({ method: 'POST', url: '/trpc/auth.signIn', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ json: { email: 'nul@example.com', password: 'a long password' } }) });
    const session = signIn.cookies.find((c) => c.name === 'sb_session')!;
    cookie = `sb_session=${session.value}`;
    const admin = await newUser(t.db, 'nul-admin');
    const caller = callerFor(t.db, admin);
    teamId = (await caller.teams.create({ name: 'Nul team' })).id;
    await caller.teams.invite({ teamId, email: 'nul@example.com', role: 'admin' });
    projectId = (await caller.projects.create({ teamId, name: 'Nul project' })).id;
    notebookId = (await caller.notebooks.create({ projectId, name: 'Nul notebook' })).id;
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'all', scopes: ['read', 'run', 'deploy', 'ingest:loans', 'score:loans'] } });
    bearer = `Bearer ${key.secret}`;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (tb) => [tb, Number((await t.query(`select count(*)::int as n from ${tb}`))[0]!.n)] as const)));

  const trpcCases = (bad: string): [string, Record<string, unknown>, string][] => [
    ['teams.create', { name: bad }, 'name'],
    ['projects.create', { teamId: () => teamId, name: 'ok', description: bad }, 'description'],
    ['projects.create', { teamId: () => teamId, name: bad }, 'name'],
    ['notebooks.create', { projectId: () => projectId, name: bad }, 'name'],
    ['apiKeys.create', { projectId: () => projectId, name: bad, scopes: ['read'] }, 'name'],
    ['apiKeys.create', { projectId: () => projectId, name: 'ok', scopes: [bad] }, 'scopes.0'],
    ['auth.signUp', { email: 'new@example.com', name: bad, password: 'a long password' }, 'name'],
    ['auth.signUp', { email: 'new@example.com', name: 'New', password: `${bad} long password` }, 'password'],
    ['auth.signIn', { email: 'nul@example.com', password: bad }, 'password'],
    ['notebooks.saveVersion', { projectId: () => projectId, notebookId: () => notebookId, message: bad }, 'message'],
    ['teams.invite', { teamId: () => teamId, email: `a${bad}@example.com`, role: 'viewer' }, 'email'],
    ['projects.get', { projectId: bad }, 'projectId'],
  ];
  const resolve = (input: Record<string, unknown>) => Object.fromEntries(Object.entries(input).map(([k, v]) => [k, typeof v === 'function' ? (v as () => string)() : v]));

  for (const [label, bad] of [
    ['NUL', NUL],
    ['an unpaired surrogate', LONE_SURROGATE],
  ] as const) {
    it.each(trpcCases(bad).map(([p, input, field]) => [`${p} (${field})`, p, input, field] as const))(`tRPC %s with ${label}: 400 naming the field`, async (_n, path, input, field) => {
      const before = await counts();
      const procedureType = path === 'projects.get' ? 'GET' : 'POST';
      const payload = JSON.stringify({ json: resolve(input) });
      const res =
        procedureType === 'GET'
          ? await app.inject({ method: 'GET', url: `/trpc/${path}?input=${encodeURIComponent(payload)}`, headers: { cookie } })
          : await app.inject({ method: 'POST', url: `/trpc/${path}`, headers: { 'content-type': 'application/json', cookie }, payload });
      expect(res.statusCode).toBe(400);
      const error = (res.json() as { error: { json: { message: string; data: { code: string; field?: string } } } }).error.json;
      expect(error.data.code).toBe('BAD_REQUEST');
      expect(error.data.field).toBe(field);
      expect(error.message).toContain(`${field}: must not contain`);
      expect(await counts()).toEqual(before);
    });
  }

  /** Every string a REST route takes (path parameters, query, JSON body), each made unstorable in turn. */
  const restCases = restRoutes
    .filter((r) => !r.custom)
    .flatMap((r) => {
      const pathParams = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      const fill = (except?: string) =>
        r.path.replace(/\{(\w+)\}/g, (_m, p: string) => (p === except ? encodeURIComponent(NUL) : p === 'projectId' ? projectId : p === 'runId' ? SOME_UUID : p === 'hash' ? 'a'.repeat(64) : 'loans'));
      const queryKeys = Object.keys((r.query as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
      const bodyKeys = Object.keys((r.body as unknown as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
      const needsProject = r.path === '/api/v1/audit' ? `projectId=${projectId}&` : '';
      const cases: { name: string; method: string; url: string; body?: unknown; field: string }[] = [];
      for (const p of pathParams) cases.push({ name: `${r.method} ${r.path} params.${p}`, method: r.method, url: fill(p), field: p, body: r.body ? {} : undefined });
      for (const q of queryKeys) {
        cases.push({ name: `${r.method} ${r.path} query.${q}`, method: r.method, url: `${fill()}?${q === 'projectId' ? '' : needsProject}${q}=${encodeURIComponent(NUL)}`, field: q, body: r.body ? {} : undefined });
      }
      for (const b of bodyKeys) {
        const body = b === 'rows' ? { rows: [{ status: NUL }] } : { [b]: NUL };
        cases.push({ name: `${r.method} ${r.path} body.${b}`, method: r.method, url: `${fill()}${needsProject ? `?${needsProject}` : ''}`, body, field: b === 'rows' ? 'rows.0.status' : b });
      }
      return cases;
    });

  it('covers every REST route that takes a string', () => {
    const covered = new Set(restCases.map((c) => c.name.split(' ').slice(0, 2).join(' ')));
    for (const r of restRoutes.filter((x) => !x.custom)) expect(covered, `${r.method} ${r.path}`).toContain(`${r.method} ${r.path}`);
  });

  it.each(restCases.map((c) => [c.name, c] as const))('REST %s: 400 naming the field', async (_n, c) => {
    const before = await counts();
    const res = await app.inject({
      method: c.method as 'GET',
      url: c.url,
      headers: { authorization: bearer, ...(c.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      payload: c.body !== undefined ? JSON.stringify(c.body) : undefined,
    });
    expect(res.statusCode, res.body).toBe(400);
    const body = res.json() as { error: { message: string; field?: string } };
    expect(body.error.field).toBe(c.field);
    expect(body.error.message).toContain(`${c.field}: must not contain a NUL character`);
    expect(await counts()).toEqual(before);
  });

  it('ordinary text, control characters Postgres can store and paired surrogates (emoji) still work', async () => {
    const caller = callerFor(t.db, await newUser(t.db, 'emoji'));
    const team = await caller.teams.create({ name: 'Tab\there, bell \u0007, emoji \u{1F600}' });
    expect(team.name).toBe('Tab\there, bell \u0007, emoji \u{1F600}');
  });
});
