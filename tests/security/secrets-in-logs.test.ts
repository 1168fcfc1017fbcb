import type { FastifyInstance } from 'fastify';
import superjson from 'superjson';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { newSecret } from '@/server/services/auth/tokens';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { tinyEndpoint } from '../helpers/models';

/**
 * Sign-up, sign-in (right and wrong password), key creation, key use and predict against an app
 * logging at trace level into memory; then every secret is looked for in the log lines, in the
 * audit trail and in any URL the server was asked for.
 */
describe('passwords, session tokens and API keys never reach logs, URLs or the audit trail', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  const lines: string[] = [];
  const password = `pw-${newSecret(12)}`;
  const wrongPassword = `wrong-${newSecret(12)}`;
  const email = `victim-${Date.now()}@example.com`;
  let sessionToken = '';
  let apiKey = '';
  let projectId = '';

  const trpc = (path: string, input: unknown, cookie?: string) =>
    app.inject({
      method: 'POST',
      url: `/trpc/${path}`,
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      payload: JSON.stringify(superjson.serialize(input)),
    });
  const cookieOf = (res: { headers: Record<string, unknown> }) => {
    const set = [res.headers['set-cookie']].flat().map(String);
    const session = set.find((c) => c.startsWith('sb_session='));
    return session?.split(';')[0] ?? '';
  };

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    app = await buildApp({ db: t.db, driver: t.driver, role: 'all', logger: { level: 'trace', stream: { write: (line) => void lines.push(line) } } });

    const signUp = await trpc('auth.signUp', { email, name: 'Victim', password });
    expect(signUp.statusCode, signUp.body).toBe(200);
    expect((await trpc('auth.signIn', { email, password: wrongPassword })).statusCode).toBe(401);
    const signIn = await trpc('auth.signIn', { email, password });
    expect(signIn.statusCode, signIn.body).toBe(200);
    const cookie = cookieOf(signIn);
    sessionToken = cookie.slice('sb_session='.length);
    expect(sessionToken.length).toBeGreaterThan(20);
    expect([signIn.headers['set-cookie']].flat().join('\n')).toMatch(/HttpOnly/i);

    const team = await trpc('teams.create', { name: 'Logs' }, cookie);
    const teamId = (superjson.deserialize((team.json() as { result: { data: never } }).result.data) as { id: string }).id;
    const project = await trpc('projects.create', { teamId, name: 'P' }, cookie);
    projectId = (superjson.deserialize((project.json() as { result: { data: never } }).result.data) as { id: string }).id;
    const [me] = await t.query('select id from users where email = $1', [email]);
    await tinyEndpoint(t.db, { type: 'user', userId: String(me!.id) as never, email, name: 'Victim' }, projectId, 'logged');
    const key = await trpc('apiKeys.create', { projectId, name: 'ci', scopes: ['read', 'score:logged'] }, cookie);
    expect(key.statusCode, key.body).toBe(200);
    apiKey = (superjson.deserialize((key.json() as { result: { data: never } }).result.data) as { secret: string }).secret;

    const auth = { authorization: `Bearer ${apiKey}` };
    expect((await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}`, headers: auth })).statusCode).toBe(200);
    const predict = await app.inject({ method: 'POST', url: '/api/v1/endpoints/logged/predict', headers: auth, payload: { records: [{ x: 1, kind: 'a' }] } });
    expect(predict.statusCode, predict.body).toBe(200);
    // Failures log more than successes: a bad record, a revoked-looking key, a server error path.
    expect((await app.inject({ method: 'POST', url: '/api/v1/endpoints/logged/predict', headers: auth, payload: { records: [{ x: 'NaN?' }] } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}`, headers: { authorization: `Bearer ${apiKey}x` } })).statusCode).toBe(401);
    expect((await trpc('auth.me', undefined, `sb_session=${sessionToken}`)).statusCode).toBeLessThan(500);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('logged requests at trace level (so the search below has something to search)', () => {
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.join('\n')).toMatch(/auth\.signIn/);
    expect(lines.join('\n')).toMatch(/\/predict/);
  });

  it('no log line holds the password, the wrong password, the session token or the API key', () => {
    const log = lines.join('\n');
    for (const [what, secret] of Object.entries({ password, wrongPassword, sessionToken, apiKey, apiKeyBody: apiKey.slice(4) })) {
      expect(log.includes(secret), `${what} appears in the log`).toBe(false);
    }
  });

  it('the audit trail holds none of them either', async () => {
    const audit = JSON.stringify(await t.query('select * from audit_events'));
    expect(audit.length).toBeGreaterThan(100);
    for (const secret of [password, wrongPassword, sessionToken, apiKey]) expect(audit.includes(secret)).toBe(false);
  });

  it('the database keeps only hashes of the session token and the API key', async () => {
    const dump = JSON.stringify([await t.query('select * from sessions'), await t.query('select * from api_keys'), await t.query('select * from users')]);
    for (const secret of [password, sessionToken, apiKey]) expect(dump.includes(secret)).toBe(false);
  });

  it('an API key or session token in the URL authenticates nothing (so no client is taught to put one there)', async () => {
    for (const q of [`api_key=${apiKey}`, `key=${apiKey}`, `token=${apiKey}`, `access_token=${apiKey}`, `sb_session=${sessionToken}`]) {
      expect((await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}?${q}` })).statusCode).toBe(401);
      expect((await app.inject({ method: 'POST', url: `/api/v1/endpoints/logged/predict?${q}`, payload: { records: [{ x: 1, kind: 'a' }] } })).statusCode).toBe(401);
    }
  });
});
