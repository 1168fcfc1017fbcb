import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableFromSelect, runSandboxedSelect, withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

async function* text(s: string) {
  yield Buffer.from(s);
}

/** Runs raw statements in the sandbox session (no text checks): what the database itself allows. */
async function raw(t: TestDatabase, scope: SandboxScope, ...statements: string[]): Promise<{ ok: true; rows: unknown[] } | { ok: false; code: string; message: string }> {
  try {
    return await withSandboxSession(t.db, scope, { timeoutMs: 5000 }, async (q) => {
      let rows: unknown[] = [];
      for (const s of statements) rows = (await q(s)).rows;
      return { ok: true as const, rows };
    });
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { ok: false, code: e.code ?? 'none', message: e.message };
  }
}

describe.each(drivers)('the SQL sandbox on %s', (driver) => {
  let t: TestDatabase;
  let mine: SandboxScope;
  let theirs: SandboxScope;
  let theirSchema: string;

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    const admin = await newUser(t.db, 'admin');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Sandbox' });
    const p1 = await a.projects.create({ teamId: team.id, name: 'Mine' });
    const p2 = await a.projects.create({ teamId: team.id, name: 'Theirs' });
    mine = { projectId: p1.id, environment: 'design' };
    theirs = { projectId: p2.id, environment: 'design' };
    theirSchema = `p_${p2.id.replace(/-/g, '')}_design`;
    for (const [projectId, secret] of [
      [p1.id, 'mine'],
      [p2.id, 'theirs'],
    ] as const) {
      await uploadDataset({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'loans', environment: 'design' }, csv: text(`id,owner\n1,${secret}\n2,${secret}\n`) });
    }
  });
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  it("builds a table from a cell's SELECT in the project's schema, owned by the project's role", async () => {
    const r = await createTableFromSelect(t.db, mine, { sql: '-- writes: doubled\nwith l as (select * from loans)\nselect id * 2 as id2, owner from l;', table: '_sb_stage_test' });
    expect(r).toEqual({ ok: true, rowCount: 2 });
    const rows = await runSandboxedSelect(t.db, mine, { sql: 'select * from _sb_stage_test order by id2', limit: 10 });
    expect(rows).toMatchObject({ ok: true, columns: ['id2', 'owner'], rows: [{ owner: 'mine' }, { owner: 'mine' }] });
    const [owner] = await t.query(`select tableowner from pg_tables where tablename = '_sb_stage_test'`);
    expect(owner?.tableowner).toBe(`sb_p_${mine.projectId.replace(/-/g, '')}`);
  });

  it("cannot read the application's tables or another project's schema", async () => {
    // What users write is refused or fails before reaching anything...
    expect(await runSandboxedSelect(t.db, mine, { sql: 'select * from users', limit: 1 })).toMatchObject({ ok: false, reason: 'sql-error', message: 'relation "users" does not exist' });
    expect(await runSandboxedSelect(t.db, mine, { sql: 'select * from public.audit_events', limit: 1 })).toMatchObject({ ok: false, reason: 'refused' });
    expect(await runSandboxedSelect(t.db, mine, { sql: `select * from ${theirSchema}.loans`, limit: 1 })).toMatchObject({ ok: false, reason: 'refused' });
    // ...and the database refuses the same reads even when the text is not checked at all.
    for (const table of ['public.users', 'public.sessions', 'public.audit_events', 'public.api_keys', 'public.project_storage', `${theirSchema}.loans`]) {
      expect(await raw(t, mine, `select * from ${table}`), table).toMatchObject({ ok: false, code: '42501', message: expect.stringContaining('permission denied') });
    }
    expect(await raw(t, theirs, 'select owner from loans')).toEqual({ ok: true, rows: [{ owner: 'theirs' }, { owner: 'theirs' }] });
  });

  it('refuses SET ROLE, RESET ROLE, SET search_path, set_config and several statements in user SQL', async () => {
    for (const sql of [
      'set role postgres',
      'reset role',
      'set search_path = public',
      'select 1; set role postgres',
      'select 1; reset role; select * from public.users',
      "select set_config('role', 'postgres', true), query_to_xml('select * from public.users', true, false, '') from loans",
      "select query_to_xml('select * from public.users', true, false, '')",
      'with d as (delete from loans returning *) select * from d',
      'select * into stolen from loans',
    ]) {
      expect(await runSandboxedSelect(t.db, mine, { sql, limit: 1 }), sql).toMatchObject({ ok: false, reason: 'refused' });
      expect(await createTableFromSelect(t.db, mine, { sql, table: '_sb_stage_x' }), sql).toMatchObject({ ok: false, reason: 'refused' });
    }
    // A comment cannot swallow the wrapper's closing parenthesis.
    expect(await runSandboxedSelect(t.db, mine, { sql: 'select * from loans --', limit: 1 })).toMatchObject({ ok: true });
    expect(await runSandboxedSelect(t.db, mine, { sql: 'select * from loans /*', limit: 1 })).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('the session cannot leave its role even with raw SET ROLE, RESET ROLE, search_path or set_config', async () => {
    expect(await raw(t, mine, 'set role postgres')).toMatchObject({ ok: false, message: expect.stringMatching(/permission denied to set role/) });
    expect(await raw(t, mine, `set role ${`sb_p_${theirs.projectId.replace(/-/g, '')}`}`)).toMatchObject({ ok: false, message: expect.stringMatching(/permission denied to set role/) });
    expect(await raw(t, mine, 'reset role', 'select * from public.users')).toMatchObject({ ok: false, code: '42501' });
    expect(await raw(t, mine, 'set session authorization postgres')).toMatchObject({ ok: false, code: '42501' });
    expect(await raw(t, mine, 'set search_path = public', 'select * from users')).toMatchObject({ ok: false, code: '42501' });
    expect(await raw(t, mine, "select set_config('role', 'postgres', true), query_to_xml('select * from public.users', true, false, '')")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/permission denied to set role/),
    });
    expect(await raw(t, mine, 'select current_user, session_user')).toMatchObject({ ok: true, rows: [{ current_user: `sb_p_${mine.projectId.replace(/-/g, '')}`, session_user: `sb_p_${mine.projectId.replace(/-/g, '')}` }] });
  });

  it('denies the escape that worked on the PGlite default (ts_rewrite + set_config) even when the text is not checked', async () => {
    const payload = "select ts_rewrite('a'::tsquery, $$select set_config('role', 'postgres', true)::tsquery, 'b'::tsquery$$) as r, query_to_xml('select count(*) from public.users', true, false, '') as x";
    expect(await raw(t, mine, payload)).toMatchObject({ ok: false, message: expect.stringMatching(/permission denied/) });
    expect(await runSandboxedSelect(t.db, mine, { sql: payload, limit: 1 })).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('cancels a runaway query with the statement timeout and says so', async () => {
    const t0 = performance.now();
    const r = await createTableFromSelect(t.db, mine, { sql: 'select 1 as n from pg_sleep(10)', table: '_sb_stage_slow', timeoutMs: 500 });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r).toEqual({ ok: false, reason: 'timeout', message: 'the query ran longer than 500 ms and was cancelled (statement timeout)' });
    expect(await t.query(`select 1 from pg_tables where tablename = '_sb_stage_slow'`)).toEqual([]);
  });

  it("points a database error at the user's SQL", async () => {
    const sql = '-- writes: x\nselect id, no_such_column\nfrom loans';
    const r = await runSandboxedSelect(t.db, mine, { sql, limit: 1 });
    expect(r).toMatchObject({ ok: false, reason: 'sql-error', message: 'column "no_such_column" does not exist' });
    expect(r.ok === false && r.offset).toBe(sql.indexOf('no_such_column'));
  });
});
