import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import type { Actor } from '@/server/services/context';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';

async function* text(s: string) {
  yield Buffer.from(s);
}

/**
 * Scratch queries (REST /query) and cell previews (notebooks.runCell) run users' SQL: they must run
 * as the project's own role and reach nothing but the project's schema of the environment asked for.
 */
describe('the scratch query and preview sandbox (Postgres)', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let mine: string;
  let theirs: string;
  let readKey: string;
  let otherKey: string;
  let notebookId: string;
  const hex = (id: string) => id.replace(/-/g, '');

  const query = (sql: string, opts: { key?: string; env?: string } = {}) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/projects/${mine}/query${opts.env ? `?environment=${opts.env}` : ''}`,
      headers: { authorization: `Bearer ${opts.key ?? readKey}` },
      payload: { sql, limit: 100 },
    });

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'admin');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Sandbox' });
    mine = (await a.projects.create({ teamId: team.id, name: 'Mine' })).id;
    theirs = (await a.projects.create({ teamId: team.id, name: 'Theirs' })).id;
    for (const [projectId, environment, owner] of [
      [mine, 'design', 'mine-design'],
      [mine, 'production', 'mine-production'],
      [theirs, 'design', 'theirs'],
    ] as const) {
      await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'loans', environment }, csv: text(`id,owner\n1,${owner}\n`) });
    }
    const sys = ctxFor(t.db, { type: 'system', name: 'test' });
    readKey = (await createApiKey({ ctx: sys, input: { projectId: mine, name: 'bi', scopes: ['read'] } })).secret;
    otherKey = (await createApiKey({ ctx: sys, input: { projectId: theirs, name: 'theirs', scopes: ['read'] } })).secret;
    notebookId = (await a.notebooks.create({ projectId: mine, name: 'NB' })).id;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  });
  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  it("runs as the project's own login role, on the environment asked for", async () => {
    const who = await query('select current_user as u, session_user as s, current_setting(\'search_path\') as p');
    expect(who.statusCode).toBe(200);
    expect(who.json().rows).toEqual([[`sb_p_${hex(mine)}`, `sb_p_${hex(mine)}`, `p_${hex(mine)}_design`]]);
    expect((await query('select owner from loans')).json().rows).toEqual([['mine-design']]);
    expect((await query('select owner from loans', { env: 'production' })).json().rows).toEqual([['mine-production']]);
  });

  it("cannot reach the application's tables, the catalogs' secrets or another project's schema", async () => {
    for (const sql of [
      'select * from users',
      'select * from audit_events',
      'select * from api_keys',
      'select * from public.users',
      `select * from p_${hex(theirs)}_design.loans`,
      'select * from pg_authid',
      "select set_config('role', 'postgres', false)",
      "select query_to_xml('select * from public.users', true, true, '')",
      'select 1; select * from public.users',
      'delete from loans',
    ]) {
      const r = await query(sql);
      expect(r.statusCode, sql).toBe(400);
      expect(r.json().error.field, sql).toBe('sql');
      expect(r.body, sql).not.toMatch(/"rows"/);
    }
    expect((await query('select * from pg_authid')).json().error.message).toMatch(/permission denied/);
    expect((await query('select * from users')).json().error.message).toMatch(/relation "users" does not exist/);
  });

  it("refuses another project's key", async () => {
    expect((await query('select 1', { key: otherKey })).statusCode).toBe(403);
  });

  it('previews run under the same role and limits', async () => {
    await setNotebookCells(t.db, notebookId, [
      { id: 'who', kind: 'sql', source: 'select current_user as u' },
      { id: 'peek', kind: 'sql', source: 'select * from pg_authid' },
      { id: 'cross', kind: 'sql', source: `select * from p_${hex(theirs)}_design.loans` },
      { id: 'app', kind: 'sql', source: 'select * from sessions' },
    ]);
    const e = callerFor(t.db, admin);
    expect((await e.notebooks.runCell({ projectId: mine, notebookId, cellId: 'who' })).rows).toEqual([[`sb_p_${hex(mine)}`]]);
    for (const cellId of ['peek', 'cross', 'app']) {
      const out = await e.notebooks.runCell({ projectId: mine, notebookId, cellId });
      expect(out.status, cellId).toBe('error');
      expect(out.rows, cellId).toEqual([]);
    }
    const csv = await app.inject({ method: 'GET', url: `/api/v1/projects/${mine}/notebooks/${notebookId}/cells/peek/result.csv`, headers: { authorization: `Bearer ${readKey}` } });
    expect(csv.statusCode).toBe(400);
    expect(csv.json().error.message).toMatch(/permission denied/);
    // The grid's row stream runs in the same sandbox: refused before any row is sent.
    for (const cellId of ['peek', 'cross', 'app']) {
      const rows = await app.inject({ method: 'GET', url: `/api/v1/projects/${mine}/notebooks/${notebookId}/cells/${cellId}/rows`, headers: { authorization: `Bearer ${readKey}` } });
      expect(rows.statusCode, cellId).toBe(400);
      expect(rows.json().error.message, cellId).toMatch(/permission denied|by name alone|does not exist/);
    }
    const who = await app.inject({ method: 'GET', url: `/api/v1/projects/${mine}/notebooks/${notebookId}/cells/who/rows`, headers: { authorization: `Bearer ${readKey}` } });
    expect(who.body.split('\n')[1]).toBe(JSON.stringify([`sb_p_${hex(mine)}`]));
  });
});
