import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createSession } from '@/server/services/auth/session';
import { callerFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Cross-site request forgery against cookie-authenticated writes: a page on another site posts to
 * Stagebook and the browser attaches the victim's session cookie. Browsers mark such requests with
 * `Sec-Fetch-Site` and `Origin`; the server refuses them before any route runs.
 */
describe('CSRF: cookie-authenticated writes from another site are refused', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let cookie: string;
  let projectId: string;
  let teams: () => Promise<number>;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'CSRF' });
    projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'p' })).id;
    cookie = `sb_session=${(await createSession(t.db, admin.userId)).token}`;
    teams = async () => (await callerFor(t.db, admin).teams.list()).length;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all', publicUrl: 'https://stagebook.example.com' });
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  const importModel = (headers: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/models/csrf-model/versions?positiveClass=bad`,
      headers: { 'content-type': 'application/octet-stream', ...headers },
      payload: Buffer.from('not an onnx file'),
    });

  const crossSite: Record<string, string>[] = [
    { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    { origin: 'https://evil.example' },
    { 'sec-fetch-site': 'same-site', origin: 'https://evil.stagebook.example.com' },
    { origin: 'null' },
    { referer: 'https://evil.example/', 'sec-fetch-site': 'cross-site' },
  ];

  it('REST: the ONNX model import with the session cookie from another site is a 403 before the upload is read', async () => {
    for (const h of crossSite) {
      const res = await importModel({ cookie, ...h });
      expect(res.statusCode, JSON.stringify(h)).toBe(403);
      expect(res.json().error.code).toBe('cross_site_request');
    }
    // From the app's own origin, or from a non-browser client (no Origin), the request reaches the
    // route, which refuses the bytes for what they are.
    for (const h of [{ origin: 'https://stagebook.example.com', 'sec-fetch-site': 'same-origin' }, {}] as Record<string, string>[]) {
      const res = await importModel({ cookie, ...h });
      expect(res.statusCode, JSON.stringify(h)).toBe(400);
      expect(res.json().error.code).not.toBe('cross_site_request');
    }
  });

  it('REST: Bearer-key requests are unaffected by the Origin check', async () => {
    const res = await importModel({ authorization: 'Bearer sbk_not_a_real_key', 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect(res.statusCode).toBe(401);
  });

  it('tRPC: a batched mutation from another site with the session cookie is refused and creates nothing', async () => {
    const before = await teams();
    const post = (headers: Record<string, string>) =>
      app.inject({
        method: 'POST',
        url: '/trpc/teams.create?batch=1',
        headers: { 'content-type': 'application/json', cookie, ...headers },
        payload: JSON.stringify({ 0: { json: { name: 'Forged' } } }),
      });
    for (const h of crossSite) {
      const res = await post(h);
      expect(res.statusCode, JSON.stringify(h)).toBe(403);
    }
    expect(await teams()).toBe(before);
    // A form post needs no preflight: a text/plain body from another site is refused all the same.
    const form = await app.inject({ method: 'POST', url: '/trpc/teams.create', headers: { 'content-type': 'text/plain', cookie, origin: 'https://evil.example' }, payload: '{"name":"Forged"}' });
    expect(form.statusCode).toBe(403);
    // The app itself still works.
    const ok = await post({ origin: 'https://stagebook.example.com', 'sec-fetch-site': 'same-origin' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(await teams()).toBe(before + 1);
    // Queries (GET) are not state-changing and pass.
    const list = await app.inject({ method: 'GET', url: '/trpc/teams.list', headers: { cookie, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(list.statusCode).toBe(200);
  });
});
