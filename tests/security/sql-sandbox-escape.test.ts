/**
 * Escapes from the user-SQL sandbox, on both drivers (the embedded default and a Postgres server).
 *
 * The attacker is a self-registered user who owns a project and writes its SQL cells. The victims
 * are another team's project (a dataset holding a marker string) and the application's tables
 * (users' password hashes, project roles' passwords). Every payload goes twice: through the text
 * checks a cell runs through (it must be refused or fail), and raw inside the sandbox session with
 * no text checks at all (what Postgres itself allows: it must be denied, or return nothing secret).
 * Each result, whatever it is, must not contain any secret read independently from the database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableFromSelect, runSandboxedSelect, withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { uploadDataset } from '@/server/services/datasets/upload-dataset';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';

async function* text(s: string) {
  yield Buffer.from(s);
}

type RawResult = { ok: true; rows: unknown[] } | { ok: false; code: string; message: string };

/** Runs statements in the sandbox session without the text checks: what the database allows. */
async function raw(t: TestDatabase, scope: SandboxScope, statements: string[]): Promise<RawResult> {
  try {
    return await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, async (q) => {
      let rows: unknown[] = [];
      for (const s of statements) rows = (await q(s)).rows;
      return { ok: true as const, rows };
    });
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { ok: false, code: e.code ?? 'none', message: e.message };
  }
}

const THEIR_MARKER = 'theirs-secret-7f3a9c';

/**
 * `cell`: what a cell author writes (through the checks). `raw`: the statements sent with no checks
 * (defaults to the cell). `may`: 'denied' (the default) when the checks must refuse it and Postgres
 * deny it; 'harmless' when both may let it run because it reaches nothing (its answer is still
 * searched for secrets).
 */
type Payload = { name: string; cell: string; raw?: string[]; may?: 'denied' | 'harmless' };

function payloads(theirSchema: string): Payload[] {
  const users = 'public.users';
  return [
    {
      name: 'ts_rewrite(tsquery, text) running set_config(role) then query_to_xml (the PGlite escape)',
      cell: `select ts_rewrite('a'::tsquery, $$select set_config('role', 'postgres', true)::tsquery, 'b'::tsquery$$) as r, query_to_xml('select password_hash from ${users}', true, false, '') as x`,
    },
    { name: 'ts_rewrite reading the users table', cell: `select ts_rewrite('a'::tsquery, 'select password_hash::tsquery, ''b''::tsquery from ${users}') as r` },
    { name: "ts_rewrite reading another project's dataset", cell: `select ts_rewrite('a'::tsquery, 'select owner::tsquery, ''b''::tsquery from ${theirSchema}.loans') as r` },
    { name: 'ts_stat over the users table', cell: `select * from ts_stat('select to_tsvector(password_hash) from ${users}')` },
    { name: 'ts_stat over project_storage (role passwords)', cell: `select * from ts_stat('select to_tsvector(role_password) from public.project_storage')` },
    { name: 'query_to_xml', cell: `select query_to_xml('select email, password_hash from ${users}', true, false, '') as x` },
    { name: 'query_to_xml_and_xmlschema', cell: `select query_to_xml_and_xmlschema('select * from ${theirSchema}.loans', true, false, '') as x` },
    { name: 'query_to_xmlschema', cell: `select query_to_xmlschema('select * from ${users}', true, false, '') as x` },
    {
      name: 'cursor_to_xml over a cursor on users',
      cell: `select cursor_to_xml('c'::refcursor, 10, true, false, '') as x`,
      raw: [`declare c cursor for select password_hash from ${users}`, `select cursor_to_xml('c'::refcursor, 10, true, false, '') as x`],
    },
    { name: 'table_to_xml', cell: `select table_to_xml('${theirSchema}.loans'::regclass, true, false, '') as x` },
    // These two skip what the role cannot read: Postgres answers, with nothing of anyone else's.
    { name: 'schema_to_xml of public', cell: `select schema_to_xml('public', true, false, '') as x`, may: 'harmless' },
    { name: 'database_to_xml', cell: `select database_to_xml(true, false, '') as x`, may: 'harmless' },
    {
      name: 'xpath over query_to_xml',
      cell: `select xpath('//password_hash/text()', query_to_xml('select password_hash from ${users}', true, false, '')) as x`,
    },
    {
      name: 'an XML external entity reading a server file',
      cell: `select xpath('/a/text()', xmlparse(document '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>')) as x`,
      may: 'harmless',
    },
    { name: 'dblink to the same server', cell: `select * from dblink('dbname=postgres user=postgres', 'select password_hash from users') as t(h text)` },
    { name: 'COPY the users table to a file', cell: `copy (select password_hash from ${users}) to '/tmp/sb-stolen.txt'` },
    { name: 'COPY from a program', cell: `copy (select 1) to program 'id > /tmp/sb-pwned'` },
    { name: 'a DO block switching role', cell: `do $$ begin perform set_config('role', 'postgres', true); end $$` },
    { name: 'a DO block running SQL from a string', cell: `do $$ begin execute 'create table stolen as select password_hash from ${users}'; end $$` },
    { name: 'set_config(role) then read users', cell: `select set_config('role', 'postgres', false) as r`, raw: [`select set_config('role', 'postgres', false)`, `select password_hash from ${users}`] },
    { name: 'pg_catalog-qualified set_config', cell: `select pg_catalog.set_config('role', 'postgres', true) as r` },
    { name: 'SET ROLE', cell: 'set role postgres', raw: ['set role postgres', `select password_hash from ${users}`] },
    { name: 'RESET ROLE', cell: 'reset role', raw: ['reset role', `select password_hash from ${users}`] },
    { name: 'SET SESSION AUTHORIZATION', cell: 'set session authorization postgres', raw: ['set session authorization postgres', `select password_hash from ${users}`] },
    { name: 'search_path to public', cell: 'set search_path = public', raw: ['set search_path = public', 'select password_hash from users'] },
    { name: 'pg_read_file', cell: `select pg_read_file('/etc/passwd') as f` },
    { name: 'pg_read_file of the server config', cell: `select pg_read_file('postgresql.auto.conf') as f` },
    { name: 'pg_read_binary_file', cell: `select pg_read_binary_file('/etc/passwd') as f` },
    { name: 'pg_ls_dir', cell: `select pg_ls_dir('.') as f` },
    { name: 'lo_import', cell: `select lo_import('/etc/passwd') as oid` },
    { name: "another project's schema, qualified", cell: `select * from ${theirSchema}.loans` },
    { name: "another project's schema through search_path", cell: `set search_path = ${theirSchema}; select * from loans`, raw: [`set search_path = ${theirSchema}`, 'select * from loans'] },
    { name: "the app's users table", cell: 'select email, password_hash from users', raw: [`select email, password_hash from ${users}`] },
    { name: "the app's sessions table", cell: 'select * from public.sessions', raw: ['select * from public.sessions'] },
    { name: 'project_storage (every role password)', cell: 'select * from public.project_storage', raw: ['select * from public.project_storage'] },
    { name: 'pg_authid (role password hashes)', cell: 'select rolname, rolpassword from pg_authid', raw: ['select rolname, rolpassword from pg_catalog.pg_authid'] },
    { name: 'other sessions through pg_stat_activity', cell: 'select query from pg_stat_activity', may: 'harmless' },
    { name: 'pg_terminate_backend of other sessions', cell: 'select pg_terminate_backend(pid) from pg_stat_activity where pid <> pg_backend_pid()' },
    { name: 'a data-modifying CTE', cell: `with d as (delete from ${theirSchema}.loans returning *) select * from d` },
  ];
}

describe.each(drivers)('SQL sandbox escapes on %s', (driver) => {
  let t: TestDatabase;
  let mine: SandboxScope;
  let theirSchema: string;
  let secrets: string[];

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    const attacker = await newUser(t.db, 'attacker');
    const victim = await newUser(t.db, 'victim');
    const ours = await callerFor(t.db, attacker).teams.create({ name: 'Attackers' });
    const theirs = await callerFor(t.db, victim).teams.create({ name: 'Victims' });
    const p1 = await callerFor(t.db, attacker).projects.create({ teamId: ours.id, name: 'Mine' });
    const p2 = await callerFor(t.db, victim).projects.create({ teamId: theirs.id, name: 'Theirs' });
    mine = { projectId: p1.id, environment: 'design' };
    theirSchema = `p_${p2.id.replace(/-/g, '')}_design`;
    await uploadDataset({ ctx: ctxFor(t.db, attacker), input: { projectId: p1.id, name: 'loans', environment: 'design' }, csv: text('id,owner\n1,mine\n') });
    await uploadDataset({ ctx: ctxFor(t.db, victim), input: { projectId: p2.id, name: 'loans', environment: 'design' }, csv: text(`id,owner\n1,${THEIR_MARKER}\n`) });
    // Read independently of the sandbox: what must never come back.
    const hashes = (await t.query('select password_hash from users')).map((r) => String(r.password_hash));
    const rolePasswords = (await t.query('select role_password from project_storage')).map((r) => String(r.role_password));
    expect(hashes).toHaveLength(2);
    expect(rolePasswords).toHaveLength(2);
    secrets = [THEIR_MARKER, victim.email, ...hashes, ...rolePasswords, 'root:x:0:0'];
  });
  afterAll(async () => {
    await disposeWithProjectRoles(t);
  });

  const leaked = (result: unknown) => secrets.filter((s) => JSON.stringify(result).includes(s));

  it('refuses every payload in a cell and denies it in Postgres, leaking no other team data, hash or role password', async () => {
    const list = payloads(theirSchema);
    expect(list.length).toBeGreaterThan(30);
    for (const p of list) {
      const mustFail = (p.may ?? 'denied') === 'denied';
      const preview = await runSandboxedSelect(t.db, mine, { sql: p.cell, limit: 10 });
      expect(leaked(preview), `${p.name}: preview leaked`).toEqual([]);
      if (mustFail) expect(preview.ok, `${p.name}: preview`).toBe(false);
      const built = await createTableFromSelect(t.db, mine, { sql: p.cell, table: '_sb_stage_escape' });
      expect(leaked(built), `${p.name}: build leaked`).toEqual([]);
      if (built.ok) await raw(t, mine, ['drop table _sb_stage_escape']);
      if (mustFail) expect(built.ok, `${p.name}: build`).toBe(false);

      const r = await raw(t, mine, p.raw ?? [p.cell]);
      expect(leaked(r), `${p.name}: raw leaked`).toEqual([]);
      if (mustFail) expect(r.ok, `${p.name}: raw ${JSON.stringify(r)}`).toBe(false);
    }
    // Nothing the payloads tried to write exists, and the session could not have become anyone else.
    expect(await t.query(`select 1 from pg_tables where tablename in ('stolen', '_sb_stage_escape')`)).toEqual([]);
    expect(await raw(t, mine, ['select current_user as c, session_user as s'])).toEqual({ ok: true, rows: [{ c: `sb_p_${mine.projectId.replace(/-/g, '')}`, s: `sb_p_${mine.projectId.replace(/-/g, '')}` }] });
  });

  it("names the reason: the text checks refuse string-evaluating functions by name, Postgres denies the role's reach", async () => {
    const cells: Record<string, string> = {
      ts_rewrite: `select ts_rewrite('a'::tsquery, 'select 1') as r`,
      ts_stat: `select * from ts_stat('select 1')`,
      query_to_xml: `select query_to_xml('select 1', true, false, '') as x`,
      cursor_to_xml: `select cursor_to_xml('c'::refcursor, 1, true, false, '') as x`,
      set_config: `select set_config('role', 'postgres', true) as r`,
      pg_read_file: `select pg_read_file('/etc/passwd') as f`,
      lo_import: `select lo_import('/etc/passwd') as f`,
      dblink: `select * from dblink('', 'select 1') as t(n int)`,
    };
    for (const [fn, cell] of Object.entries(cells)) {
      expect(await runSandboxedSelect(t.db, mine, { sql: cell, limit: 1 }), fn).toMatchObject({ ok: false, reason: 'refused', message: expect.stringContaining(`${fn}() is not allowed`) });
    }
    expect(await raw(t, mine, [`select password_hash from public.users`])).toMatchObject({ ok: false, code: '42501', message: 'permission denied for table users' });
    expect(await raw(t, mine, [`select * from ${theirSchema}.loans`])).toMatchObject({ ok: false, code: '42501', message: `permission denied for schema ${theirSchema}` });
    expect(await raw(t, mine, ["select set_config('role', 'postgres', true)"])).toMatchObject({ ok: false, message: expect.stringContaining('permission denied to set role') });
  });

  it('cancels select pg_sleep(600) in a cell or a preview with the statement timeout, saying it timed out', async () => {
    // `select pg_sleep(600)` alone has a void column (refused by CREATE TABLE AS at once): these sleep for real.
    const sleepers = ['select pg_sleep(600)::text as slept', 'select 1 as n from pg_sleep(600)'];
    const t0 = performance.now();
    const results = [];
    for (const sql of sleepers) {
      results.push(await createTableFromSelect(t.db, mine, { sql, table: '_sb_stage_sleep', timeoutMs: 1_000 }));
      results.push(await runSandboxedSelect(t.db, mine, { sql, limit: 1, timeoutMs: 1_000 }));
    }
    // Generous for a loaded 2-core machine; without the timeout these would take 40 minutes.
    expect(performance.now() - t0).toBeLessThan(60_000);
    for (const r of results) {
      expect(r).toEqual({ ok: false, reason: 'timeout', message: 'the query ran longer than 1 s and was cancelled (statement timeout)' });
    }
    expect(await t.query(`select 1 from pg_tables where tablename = '_sb_stage_sleep'`)).toEqual([]);
  });

  it('cancels a running statement on request while other sessions keep answering', async () => {
    const abort = new AbortController();
    const t0 = performance.now();
    const sleeping = runSandboxedSelect(t.db, mine, { sql: 'select 1 as n from pg_sleep(600)', limit: 1, signal: abort.signal });
    // Concurrent sessions: while the statement sleeps in its session, another session of the same
    // project answers (PGlite ran one statement at a time for the whole process).
    const active = `select count(*)::int as n from pg_stat_activity where state = 'active' and query like '%from pg_sleep(600)%' and query not like '%pg_stat_activity%'`;
    await expect.poll(async () => (await t.query(active))[0]?.n, { timeout: 30_000, interval: 100 }).toBe(1);
    expect(await runSandboxedSelect(t.db, mine, { sql: 'select count(*)::int as n from loans', limit: 1 })).toEqual({ ok: true, rows: [{ n: 1 }], columns: ['n'] });
    abort.abort();
    expect(await sleeping).toEqual({ ok: false, reason: 'cancelled', message: 'the query was cancelled' });
    expect(performance.now() - t0).toBeLessThan(60_000);
  });
});
