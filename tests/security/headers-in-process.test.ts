import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { commonSecurityHeaders } from '@/server/api/security-headers';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * The common security headers on every kind of response of the app in process: the scoring hot
 * paths (REST predict, tRPC scoring.predict's fast path), refusals and errors, and pages handed to
 * Next.js (hijacked replies, which get the page policy instead of the common CSP). The browser-level
 * checks (a real server, Next's build, Chromium) are in headers.test.ts.
 */
describe('security headers, in process', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let key: string;
  let cookie: string;
  const name = 'headers';

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Ops' });
    const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Serving' })).id;
    await tinyEndpoint(t.db, admin, projectId, name);
    key = (await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'scorer', scopes: [`score:${name}`] } })).secret;
    cookie = `sb_session=${(await createSession(t.db, admin.userId)).token}`;
    const nextHandler = async (_req: unknown, res: ServerResponse) => {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><p>page</p>');
    };
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all', nextHandler });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const expectCommon = (headers: Record<string, unknown>, what: string, csp = commonSecurityHeaders['Content-Security-Policy']) => {
    for (const [header, value] of Object.entries(commonSecurityHeaders)) {
      expect(headers[header.toLowerCase()], `${what}: ${header}`).toBe(header === 'Content-Security-Policy' ? csp : value);
    }
  };
  const json = (auth: Record<string, string>) => ({ 'content-type': 'application/json', ...auth });
  const record = { x: 1.5, kind: 'a' };

  it('are on REST and tRPC predict answers, with an API key and with a session cookie', async () => {
    const calls = [
      ['REST, key', '/api/v1/endpoints/headers/predict', { records: [record] }, { authorization: `Bearer ${key}` }],
      ['REST, cookie', '/api/v1/endpoints/headers/predict', { records: [record] }, { cookie, 'sec-fetch-site': 'same-origin' }],
      ['tRPC, key', '/trpc/scoring.predict', { json: { endpoint: name, records: [record] } }, { authorization: `Bearer ${key}` }],
      ['tRPC, cookie', '/trpc/scoring.predict', { json: { endpoint: name, records: [record] } }, { cookie, 'sec-fetch-site': 'same-origin' }],
    ] as const;
    for (const [what, url, payload, auth] of calls) {
      const res = await app.inject({ method: 'POST', url, headers: json(auth), payload: JSON.stringify(payload) });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(200);
      expectCommon(res.headers, what);
    }
  });

  it('are on refusals and errors: a bad record, an unknown key, a cross-site write, a malformed body', async () => {
    const calls = [
      ['bad record', '/api/v1/endpoints/headers/predict', JSON.stringify({ records: [{ x: 'lots', kind: 'a' }] }), json({ authorization: `Bearer ${key}` }), 400],
      ['unknown key', '/api/v1/endpoints/headers/predict', JSON.stringify({ records: [record] }), json({ authorization: 'Bearer sb_live_nope' }), 401],
      ['cross-site', '/trpc/scoring.predict', JSON.stringify({ json: { endpoint: name, records: [record] } }), json({ cookie, 'sec-fetch-site': 'cross-site' }), 403],
      ['malformed body', '/api/v1/endpoints/headers/predict', '{"records": [', json({ authorization: `Bearer ${key}` }), 400],
    ] as const;
    for (const [what, url, payload, headers, status] of calls) {
      const res = await app.inject({ method: 'POST', url, headers, payload });
      expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
      expectCommon(res.headers, what);
    }
  });

  it('are on pages Next.js answers (hijacked replies), with the page policy and its nonce instead of the common CSP', async () => {
    const res = await app.inject({ method: 'GET', url: '/sign-in' });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
    expectCommon(res.headers, 'page', csp);
  });

  it('reads the session cookie only when asked, and still signs a request in by it', async () => {
    const res = await app.inject({ method: 'GET', url: '/trpc/auth.me', headers: { cookie } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('admin');
  });
});
