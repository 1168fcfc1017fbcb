import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { loadEnv } from '@/server/env';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PER_CLIENT = 30;

describe('forwarded headers and request ids cannot be chosen by a client', () => {
  let t: TestDatabase;
  let direct: FastifyInstance;
  let proxied: FastifyInstance;
  const PROXY = '10.70.0.1';

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    direct = await buildApp({ db: t.db, driver: t.driver, role: 'web' });
    proxied = await buildApp({ db: t.db, driver: t.driver, role: 'web', trustProxy: [`${PROXY}/32`, '192.0.2.0/24'] });
    const res = await direct.inject({ method: 'POST', url: '/trpc/auth.signUp', remoteAddress: '10.60.0.9', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ json: { email: 'victim@example.com', name: 'V', password: 'the right password' } }) });
    expect(res.statusCode).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await direct?.close();
    await proxied?.close();
    await t?.dispose();
  });

  const signIn = (app: FastifyInstance, email: string, remoteAddress: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/trpc/auth.signIn', remoteAddress, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify({ json: { email, password: 'a wrong guess' } }) });
  const lastFailedEvent = async () =>
    (await t.query(`select request_id, client_ip, details from audit_events where action = 'user.signin_failed' order by seq desc limit 1`))[0] as {
      request_id: string;
      client_ip: string;
      details: Record<string, unknown>;
    };
  const windowPasses = () => t.query(`update auth_attempt_counters set window_start = now() - interval '16 minutes'`);

  it('a spoofed X-Forwarded-For does not reset the per-address limit', async () => {
    await windowPasses();
    const statuses: number[] = [];
    for (let i = 0; i < PER_CLIENT + 3; i++) {
      statuses.push((await signIn(direct, `nobody-${i}@example.com`, '10.60.0.1', { 'x-forwarded-for': `198.51.100.${i}` })).statusCode);
    }
    expect(statuses.slice(0, PER_CLIENT).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(PER_CLIENT)).toEqual([429, 429, 429]);
  });

  it('audit events record the real peer and a server-made request id; a client id only as a labelled detail', async () => {
    await windowPasses();
    expect((await signIn(direct, 'victim@example.com', '10.60.0.2', { 'x-forwarded-for': '203.0.113.66', 'x-request-id': 'client-chosen.id_1' })).statusCode).toBe(401);
    const ev = await lastFailedEvent();
    expect(ev.client_ip).toBe('10.60.0.2');
    expect(ev.request_id).toMatch(UUID);
    expect(ev.details.clientRequestId).toBe('client-chosen.id_1');
    expect(JSON.stringify(ev)).not.toContain('203.0.113.66');

    // An id that is not a plausible id (too long, or with characters a log line should not hold) is dropped.
    for (const bad of ['x'.repeat(129), 'two words', 'a\u202eb', '../../etc']) {
      const res = await signIn(direct, 'victim@example.com', '10.60.0.2', { 'x-request-id': bad });
      expect(res.statusCode).toBe(401);
      const e = await lastFailedEvent();
      expect(e.request_id).toMatch(UUID);
      expect(e.details).not.toHaveProperty('clientRequestId');
    }
  });

  it('with the proxy trusted, its X-Forwarded-For is the client address, and each address has its own budget', async () => {
    await windowPasses();
    for (let i = 0; i < PER_CLIENT + 3; i++) {
      expect((await signIn(proxied, `nobody-${i}@example.com`, PROXY, { 'x-forwarded-for': `198.51.100.${i}` })).statusCode).toBe(401);
    }
    expect((await signIn(proxied, 'victim@example.com', PROXY, { 'x-forwarded-for': '198.51.100.200' })).statusCode).toBe(401);
    expect((await lastFailedEvent()).client_ip).toBe('198.51.100.200');
    // A peer outside the trusted list is not believed, even by the same app.
    expect((await signIn(proxied, 'victim@example.com', '10.70.0.2', { 'x-forwarded-for': '198.51.100.201' })).statusCode).toBe(401);
    expect((await lastFailedEvent()).client_ip).toBe('10.70.0.2');
  });

  it('STAGEBOOK_TRUST_PROXY takes addresses and CIDRs, defaults to none, and names a bad entry', () => {
    expect(loadEnv({}).STAGEBOOK_TRUST_PROXY).toEqual([]);
    expect(loadEnv({ STAGEBOOK_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,::1,fd00::/8' }).STAGEBOOK_TRUST_PROXY).toEqual(['10.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8']);
    for (const bad of ['everyone', '10.0.0.0/33', '10.0.0.1/8/2', 'true', '300.1.1.1']) {
      expect(() => loadEnv({ STAGEBOOK_TRUST_PROXY: bad })).toThrow(/STAGEBOOK_TRUST_PROXY/);
    }
  });
});
