import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { exportOnnx } from '@/server/ml/onnx/export';
import { trainModel } from '@/server/ml/train';
import type { CellValue, ColumnSchema } from '@/server/ml/types';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { createSession } from '@/server/services/auth/session';
import type { Actor } from '@/server/services/context';
import { createEndpoint } from '@/server/services/endpoints/create-endpoint';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { creditDataCsv, disposeWithProjectRoles, repoRoot } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { setNotebookCells } from '../helpers/pipeline';

/**
 * The README's `curl` examples, run as written against a real server (tests/README.md states the
 * rule): every command starting with `curl` in a ```sh block, with its `\`-continued lines (and lines
 * inside an open single-quoted argument), in
 * README order. Only the README's own placeholders are given values ($URL, $KEY, $PROJECT, $SESSION,
 * $NOTEBOOK, $CELL) and its files exist in the working directory (credit_data.csv, model.onnx).
 * Each must answer 2xx; one followed by a `# -> {json}` comment must answer JSON of that shape
 * (the same keys at every level, the same value types).
 */

type Example = { line: number; command: string; expected: unknown };

function readmeCurlExamples(readme: string): Example[] {
  const lines = readme.split('\n');
  const out: Example[] = [];
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('```')) {
      inSh = !inSh && /^```(sh|bash|shell)\s*$/.test(l);
      continue;
    }
    if (!inSh || !/^curl\s/.test(l)) continue;
    const start = i;
    let command = l;
    // A command goes on after a trailing `\` and inside an open single-quoted string (a -d body over lines).
    for (;;) {
      if (i + 1 >= lines.length) break;
      if (command.endsWith('\\')) command = `${command.slice(0, -1)} ${lines[++i]!.trim()}`;
      else if ((command.match(/'/g) ?? []).length % 2 === 1) command = `${command}\n${lines[++i]!}`;
      else break;
    }
    let expected: unknown;
    if (lines[i + 1]?.startsWith('# -> ')) {
      let json = lines[++i]!.slice('# -> '.length);
      while (/^#\s{2,}/.test(lines[i + 1] ?? '')) json += lines[++i]!.slice(1).trim();
      expected = JSON.parse(json);
    }
    out.push({ line: start + 1, command, expected });
  }
  return out;
}

/** Keys and value types of `actual` where `expected` has them (arrays: each element against the first). */
function shapeProblems(expected: unknown, actual: unknown, at = '$'): string[] {
  const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
  if (kind(expected) !== kind(actual)) return [`${at}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length > 0 && actual.length === 0) return [`${at}: expected items, got none`];
    return actual.flatMap((a, i) => shapeProblems(expected[Math.min(i, expected.length - 1)], a, `${at}[${i}]`));
  }
  if (kind(expected) === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    return Object.keys(e).flatMap((k) => (k in a ? shapeProblems(e[k], a[k], `${at}.${k}`) : [`${at}.${k}: missing`]));
  }
  return [];
}

/** credit_data.csv trained into an ONNX classifier of `status` on every other column: the README's model.onnx. */
async function creditModelOnnx(): Promise<Uint8Array> {
  // As the upload reads it: NA is NULL, numbers are numbers.
  const cast = (v: string) => (v === 'NA' ? null : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
  const rows = parse(await readFile(creditDataCsv), { columns: (h: string[]) => h.map((c) => c.toLowerCase()), cast }) as Record<string, CellValue>[];
  const names = Object.keys(rows[0]!);
  const schema: ColumnSchema[] = names.map((name) => ({ name, type: typeof rows[0]![name] === 'number' ? 'numeric' : 'categorical' }));
  const columns = Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n] ?? null)]));
  const result = await trainModel({ columns, schema }, { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' });
  return exportOnnx(result.model).bytes;
}

const run = promisify(execFile);

describe('README examples run as written', () => {
  const examples = readmeCurlExamples(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
  let t: TestDatabase;
  let app: FastifyInstance;
  let admin: Extract<Actor, { type: 'user' }>;
  let dir: string;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    admin = await newUser(t.db, 'readme');
    const a = callerFor(t.db, admin);
    const team = await a.teams.create({ name: 'Readme' });
    const projectId = (await a.projects.create({ teamId: team.id, name: 'Credit' })).id;
    const key = await createApiKey({ ctx: ctxFor(t.db, admin), input: { projectId, name: 'readme', scopes: ['read', 'ingest:credit', 'score:credit-risk'] } });
    const notebookId = (await a.notebooks.create({ projectId, name: 'Credit' })).id;
    await setNotebookCells(t.db, notebookId, [{ id: 'by_status', kind: 'sql', source: 'select status, count(*) as n from credit group by 1 order by 1' }]);
    dir = await mkdtemp(path.join(tmpdir(), 'readme-examples-'));
    await symlink(creditDataCsv, path.join(dir, 'credit_data.csv'));
    await writeFile(path.join(dir, 'model.onnx'), await creditModelOnnx());
    app = await buildApp({ db: t.db, driver: t.driver, role: 'api' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    env = {
      PATH: process.env.PATH,
      URL: `http://127.0.0.1:${port}`,
      KEY: key.secret,
      PROJECT: projectId,
      SESSION: (await createSession(t.db, admin.userId)).token,
      NOTEBOOK: notebookId,
      CELL: 'by_status',
    };
  });
  afterAll(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await disposeWithProjectRoles(t);
  });

  it('finds the curl examples (upload, append, cell CSV, query, model import, predict)', () => {
    expect(examples.map((e) => e.command.match(/"\$URL([^"?]*)/)?.[1])).toEqual([
      '/api/v1/projects/$PROJECT/datasets',
      '/api/v1/projects/$PROJECT/datasets/credit/rows',
      '/api/v1/projects/$PROJECT/notebooks/$NOTEBOOK/cells/$CELL/result.csv',
      '/api/v1/projects/$PROJECT/query',
      '/api/v1/projects/$PROJECT/models/credit-risk/versions',
      '/api/v1/endpoints/credit-risk/predict',
    ]);
  });

  it('runs each in order: 2xx, and the documented response shape', async () => {
    for (const ex of examples) {
      // The README's credit-risk endpoint is made in the UI (Models → Create endpoint) after the import.
      if (ex.command.includes('/endpoints/credit-risk/predict')) {
        await createEndpoint({ ctx: ctxFor(t.db, admin), input: { projectId: env.PROJECT!, name: 'credit-risk', model: 'credit-risk', description: '' } });
      }
      const { stdout } = await run('bash', ['-c', ex.command.replace(/^curl\s/, `curl -sS -w '\\n%{http_code}' `)], { cwd: dir, env: env as NodeJS.ProcessEnv, maxBuffer: 16 << 20 });
      const status = Number(stdout.slice(stdout.lastIndexOf('\n') + 1));
      const body = stdout.slice(0, stdout.lastIndexOf('\n'));
      expect(status, `README line ${ex.line} answered ${status}: ${body}`).toBeGreaterThanOrEqual(200);
      expect(status, `README line ${ex.line} answered ${status}: ${body}`).toBeLessThan(300);
      if (ex.expected !== undefined) expect(shapeProblems(ex.expected, JSON.parse(body)), `README line ${ex.line}`).toEqual([]);
    }
    // What the examples did, checked independently of their answers.
    const csv = await readFile(path.join(dir, 'result.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('status,n');
    // 4,454 rows of credit_data.csv plus the appended one: 3,200 + 1 good, 1,254 bad.
    expect(csv.trim().split('\n').slice(1)).toEqual(['bad,1254', 'good,3201']);
  }, 60_000);
});

