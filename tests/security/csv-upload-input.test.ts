import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { createSession } from '@/server/services/auth/session';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * CSV uploads that used to end in a 500 (Postgres refusing the table) or in silently altered data
 * (invalid UTF-8 read as U+FFFD): each is a 400 naming the column or line, and the previous data stays.
 */
describe('CSV uploads with hostile headers and bytes', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let cookie: string;
  let projectId: string;
  let caller: ReturnType<typeof callerFor>;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    const editor = await newUser(t.db, 'editor');
    caller = callerFor(t.db, editor);
    const team = await caller.teams.create({ name: 'Data' });
    projectId = (await caller.projects.create({ teamId: team.id, name: 'Uploads' })).id;
    cookie = `sb_session=${(await createSession(t.db, editor.userId)).token}`;
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await disposeWithProjectRoles(t);
  });

  const upload = (name: string, body: string | Buffer, query = '') =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/datasets?name=${name}${query}`, headers: { cookie, 'content-type': 'text/csv' }, payload: body });
  const refusal = async (name: string, body: string | Buffer, query = '') => {
    const res = await upload(name, body, query);
    return { status: res.statusCode, message: (res.json() as { error: { message: string } }).error.message };
  };

  it('refuses a header of more than 1,600 columns, and takes 1,600', async () => {
    const header = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`).join(',');
    const row = (n: number) => Array.from({ length: n }, () => 'a').join(',');
    expect(await refusal('wide', `${header(1601)}\n${row(1601)}\n`)).toEqual({
      status: 400,
      message: "the CSV was not loaded: line 1: the header has 1,601 columns; a dataset has at most 1,600 (Postgres's limit)",
    });
    const ok = await upload('wide', `${header(1600)}\n${row(1600)}\n`);
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('refuses columns named like Postgres system columns, naming the column', async () => {
    for (const [header, name, column] of [
      ['id,ctid', 'ctid', 2],
      ['XMIN,b', 'xmin', 1],
      ['a,b,tableoid', 'tableoid', 3],
      ['a, cmax ', 'cmax', 2],
    ] as const) {
      const r = await refusal('sys', `${header}\n1,2${column === 3 ? ',3' : ''}\n`);
      expect(r.status).toBe(400);
      expect(r.message).toBe(`the CSV was not loaded: line 1, column ${column} (${name}): "${header.split(',')[column - 1]}" is the name of a Postgres system column, which a dataset cannot have: rename the column`);
    }
    expect(await trpcCodeOf(caller.datasets.get({ projectId, name: 'sys' }))).toBe('NOT_FOUND');
  });

  it('refuses invalid UTF-8 with its line, and reads the same bytes as latin1 when told', async () => {
    const latin1 = Buffer.concat([Buffer.from('city,n\nParis,1\nK'), Buffer.from([0xf6]), Buffer.from('ln,2\n')]);
    expect(await refusal('cities', latin1)).toEqual({
      status: 400,
      message:
        'the CSV was not loaded: line 3: byte 0xF6 at byte 2 of the line is not valid UTF-8: save the file as UTF-8, or give its encoding (encoding=latin1, windows-1252 or utf-16le)',
    });
    const ok = await upload('cities', latin1, '&encoding=latin1');
    expect(ok.statusCode, ok.body).toBe(200);
    expect((await caller.datasets.preview({ projectId, name: 'cities' })).rows.map((r) => r[0])).toEqual(['Paris', 'Köln']);
    // A valid multi-byte character split across the chunks of the stream is not an error.
    const utf8 = Buffer.from('city,n\nKöln,1\nZürich,2\n');
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/datasets?name=utf8`,
      headers: { cookie, 'content-type': 'text/csv' },
      payload: (async function* () {
        for (let i = 0; i < utf8.length; i++) yield utf8.subarray(i, i + 1);
      })(),
    });
    expect(res.statusCode, res.body).toBe(200);
    // Truncated at the end of the file (half a character) and an overlong encoding are refused too.
    expect((await refusal('cut', Buffer.concat([Buffer.from('a\nx'), Buffer.from([0xc3])]))).message).toMatch(/^the CSV was not loaded: line 2: byte 0xC3 .* not valid UTF-8/);
    expect((await refusal('overlong', Buffer.concat([Buffer.from('a\n'), Buffer.from([0xc0, 0xaf]), Buffer.from('\n')]))).message).toMatch(/^the CSV was not loaded: line 2: byte 0xC0 at byte 1/);
    expect((await refusal('enc', 'a\n1\n', '&encoding=ebcdic')).status).toBe(400);
  });
});

async function trpcCodeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'OK',
    (e: { code?: string }) => e.code ?? 'UNKNOWN',
  );
}
