import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { startTracing, type Tracing } from '@/server/telemetry/tracing';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';
import { startReceiver, type OtlpSpan } from '../helpers/otlp-receiver';

/**
 * Traces leave the process for a collector that operators, not Stagebook's access rules, govern:
 * they must carry no credential. A password sign-up and sign-in, an API key and a session cookie
 * are used with tracing on; none of them appears anywhere in what the receiver gets.
 */
describe('traces carry no secrets', () => {
  const spans: OtlpSpan[] = [];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tracing: Tracing;
  let t: TestDatabase;
  let app: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    receiver = await startReceiver(spans);
    tracing = startTracing({ endpoint: receiver.url, serviceName: 'stagebook-test', role: 'all' });
    t = await openTestDatabase('postgres');
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await tracing?.shutdown();
    await receiver?.close();
    await disposeWithProjectRoles(t);
  });

  it('keeps passwords, API keys and session tokens out of every span', { timeout: 60_000 }, async () => {
    const password = 'a traced but secret password';
    const email = `traced-${Date.now()}@example.com`;
    const trpc = (proc: string, body: unknown, cookie?: string) =>
      fetch(`${baseUrl}/trpc/${proc}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ json: body }) });
    expect((await trpc('auth.signUp', { email, name: 'Traced', password })).status).toBe(200);
    const signIn = await trpc('auth.signIn', { email, password });
    expect(signIn.status).toBe(200);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const sessionToken = cookie.split('=')[1]!;

    const admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Secrets' });
    const projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'P' })).id;
    await tinyEndpoint(t.db, admin, projectId, 'hush');
    const { secret } = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'k', scopes: ['score:hush'] } });
    const predict = await fetch(`${baseUrl}/api/v1/endpoints/hush/predict`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ records: [{ x: 1, kind: 'a' }] }) });
    expect(predict.status).toBe(200);
    // A query with its input in the URL, signed in by cookie; and a client that puts its key in the URL.
    expect((await fetch(`${baseUrl}/trpc/auth.me?input=${encodeURIComponent(JSON.stringify({ json: { session: sessionToken } }))}`, { headers: { cookie } })).status).toBe(200);
    await fetch(`${baseUrl}/api/v1/endpoints/hush/predict?api_key=${secret}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await tracing.flush();

    await vi.waitFor(() => expect(spans.filter((s) => s.kind === 2).length).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
    const everything = JSON.stringify(spans);
    expect(everything).toContain('/api/v1/endpoints/hush/predict');
    for (const [what, value] of [['password', password], ['API key', secret], ['session token', sessionToken]] as const) {
      expect(everything.includes(value), `${what} found in a span`).toBe(false);
    }
  });
});
