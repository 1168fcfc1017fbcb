import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPythonTable, PythonCellError } from '@/server/services/cells/build-python-table';
import { withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { pythonSettings, type PythonSettings } from '@/server/python/venv';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { pythonCellVenv } from '../helpers/python';

/**
 * Python cells run arbitrary code: each attack below is a cell that returns a DataFrame only if the
 * attack worked, so a broken defence turns into a successful build and a failing test. While each
 * runs, an HTTP server in this process (where the build runs) must keep answering.
 */
let t: TestDatabase;
let scope: SandboxScope;
let settings: PythonSettings;
let home: string;
let server: Server;
let port: number;
const repoFile = path.resolve(import.meta.dirname, '../../server/env.ts');

beforeAll(async () => {
  pythonCellVenv();
  t = await openTestDatabase('postgres');
  const editor = await newUser(t.db, 'editor');
  const caller = callerFor(t.db, editor);
  const team = await caller.teams.create({ name: 'Team' });
  scope = { projectId: (await caller.projects.create({ teamId: team.id, name: 'Py' })).id, environment: 'design' };
  await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, (q) => q('CREATE TABLE nums AS SELECT x::bigint AS x FROM generate_series(1, 100) x'));
  home = mkdtempSync(path.join(tmpdir(), 'sb-home-'));
  writeFileSync(path.join(home, 'secret.txt'), 'the home secret');
  settings = { ...pythonSettings(), allowUnsandboxed: false };
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
}, 900_000);

afterAll(async () => {
  server?.close();
  await disposeWithProjectRoles(t);
});

/** Runs the cell while polling the HTTP server; returns the cell's error and the slowest answer. */
async function attack(body: string, limits: Parameters<typeof buildPythonTable>[2]['limits'] = {}, signal?: AbortSignal) {
  const source = `# inputs: nums\n# output: out\nimport pandas as pd\n${body}\n`;
  let slowest = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      const t0 = performance.now();
      await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await buildPythonTable(t.db, scope, { cellId: 'attack', source, table: `attack_${Math.random().toString(16).slice(2)}`, timeoutMs: 60_000, settings, limits: { timeoutMs: 20_000, ...limits }, ...(signal ? { signal } : {}) });
    return { error: null, slowest };
  } catch (err) {
    if (!(err instanceof PythonCellError)) throw err;
    return { error: err, slowest };
  } finally {
    polling = false;
    await poll;
  }
}

const nobodyProcesses = () => {
  try {
    return execFileSync('pgrep', ['-u', '65534'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

describe('python cell sandbox (bubblewrap)', () => {
  it('has no network: Postgres on loopback and this server are unreachable', { timeout: 60_000 }, async () => {
    const r = await attack(`import socket
socket.create_connection(("127.0.0.1", ${port}), timeout=3)
out = pd.DataFrame({"reached": [1]})`);
    expect(r.error?.detail).toMatch(/OSError|unreachable|refused/i);
    const pg = await attack(`import socket
socket.create_connection(("127.0.0.1", 5432), timeout=3)
out = pd.DataFrame({"reached": [1]})`);
    expect(pg.error?.detail).toMatch(/OSError|unreachable|refused/i);
  });

  it('cannot read outside its scratch directory: the host, the code, $STAGEBOOK_HOME', { timeout: 60_000 }, async () => {
    for (const file of ['/etc/passwd', '/etc/shadow', repoFile, path.join(home, 'secret.txt'), '/root/.bashrc']) {
      const r = await attack(`out = pd.DataFrame({"text": [open(${JSON.stringify(file)}).read()]})`);
      expect(r.error?.detail, file).toMatch(/^(FileNotFoundError|PermissionError)/);
    }
    // Of the host's tree outside /usr only the venv and the runner are there, mounted under /opt: not
    // the venv's siblings at its host path, not /root.
    const listing = await attack(`import os
top = sorted(os.listdir("/"))
mounts = sorted(os.listdir("/opt/stagebook"))
host = os.path.exists(${JSON.stringify(settings.venvDir)})
raise SystemExit("listed: " + ",".join(top) + " | " + ",".join(mounts) + " | " + str(host))`);
    const [top, mounts, hostPathVisible] = listing.error!.detail.replace(/^SystemExit: listed: /, '').split(' | ');
    expect(top!.split(',')).not.toContain('root');
    expect(top!.split(',')).not.toContain('home');
    expect(top!.split(',').filter((d) => !['bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr'].includes(d))).toEqual(['opt']);
    expect(mounts!.split(',')).toEqual(['runner', 'venv']);
    expect(hostPathVisible).toBe('False');
  });

  it('cannot write outside its scratch directory (the root and the venv are read-only)', { timeout: 60_000 }, async () => {
    for (const file of ['/usr/owned', '/opt/stagebook/venv/owned', '/opt/stagebook/runner/owned', '/etc/owned', '/owned']) {
      const r = await attack(`open(${JSON.stringify(file)}, "w").write("x")
out = pd.DataFrame({"wrote": [1]})`);
      expect(r.error?.detail, file).toMatch(/^(OSError|PermissionError|FileNotFoundError).*(Read-only|Permission denied|No such file)/);
    }
    expect(readdirSync(settings.venvDir)).not.toContain('owned');
    const scratch = await attack(`open("/tmp/mine.txt", "w").write("x")
out = pd.DataFrame({"wrote": [open("/tmp/mine.txt").read()]})`);
    expect(scratch.error).toBeNull();
  });

  it('stops a fork bomb at its process limit, leaves no process behind, and the server keeps answering', { timeout: 90_000 }, async () => {
    const r = await attack(`import os, time
pids = 0
while True:
    os.fork()
    pids += 1`, { timeoutMs: 8_000 });
    expect(r.error).not.toBeNull();
    expect(r.slowest).toBeLessThan(2_000);
    await expect.poll(nobodyProcesses, { timeout: 10_000 }).toBe(0);
  });

  it('stops a memory bomb with a MemoryError', { timeout: 60_000 }, async () => {
    const r = await attack(`hog = []
while True:
    hog.append(bytearray(64 * 1024 * 1024))`, { memoryBytes: 1.5 * 1024 ** 3 });
    expect(r.error?.kind).toBe('memory');
    expect(r.error?.line).toBe(6);
    expect(r.slowest).toBeLessThan(2_000);
  });

  it('kills an infinite loop at its time limit, and on cancel at once', { timeout: 60_000 }, async () => {
    const r = await attack(`while True:\n    pass`, { timeoutMs: 3_000 });
    expect(r.error?.kind).toBe('timeout');
    expect(r.slowest).toBeLessThan(2_000);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 1_500);
    const t0 = performance.now();
    const c = await attack(`while True:\n    pass`, { timeoutMs: 60_000 }, abort.signal);
    expect(c.error?.detail).toBe('cancelled');
    expect(performance.now() - t0).toBeLessThan(15_000);
    await expect.poll(nobodyProcesses, { timeout: 10_000 }).toBe(0);
  });

  it('refuses to run without bubblewrap, saying how to enable it; runs unsandboxed only when the admin allowed it', { timeout: 60_000 }, async () => {
    const missing = { ...settings, bwrap: '/nonexistent/bwrap' };
    const source = '# inputs: nums\n# output: out\nnums.assign(y=nums.x * 2)\n';
    const refused = await buildPythonTable(t.db, scope, { cellId: 'c', source, table: 'refused_out', timeoutMs: 30_000, settings: missing }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PythonCellError);
    expect((refused as PythonCellError).kind).toBe('sandbox');
    expect((refused as Error).message).toContain('apt-get install -y bubblewrap');
    expect((refused as Error).message).toContain('STAGEBOOK_PYTHON_UNSANDBOXED=1');
    const allowed = await buildPythonTable(t.db, scope, { cellId: 'c', source, table: 'allowed_out', timeoutMs: 30_000, settings: { ...missing, allowUnsandboxed: true } });
    expect(allowed).toMatchObject({ mode: 'unsandboxed', rowCount: 100, columns: ['x', 'y'] });
  });
});
