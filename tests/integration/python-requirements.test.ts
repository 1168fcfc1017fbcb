import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonSettings, type PythonSettings } from '@/server/python/venv';
import { buildPythonTable, PythonCellError } from '@/server/services/cells/build-python-table';
import { withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { callerFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { pythonCellVenv, writeTestWheel } from '../helpers/python';

/**
 * Per-project requirements, end to end with real pip, Python, bubblewrap and Postgres. pip installs
 * from a --find-links directory of wheels written here (STAGEBOOK_PYTHON_FIND_LINKS in the product),
 * so the test needs no network: `sbtiny` 1.0.0 and 1.1.0, and `sbtinydep` which requires sbtiny.
 */
let t: TestDatabase;
let caller: ReturnType<typeof callerFor>;
let projectId: string;
let scope: SandboxScope;
let settings: PythonSettings;
let scratch: string;

const tiny = (version: string) => ({ 'sbtiny.py': `VERSION = "${version}"\ndef shout(s):\n    return s.upper() + "!"\n` });

beforeAll(async () => {
  pythonCellVenv();
  scratch = mkdtempSync(path.join(tmpdir(), 'sb-pyreqs-'));
  // As root the cell runs as nobody, who must reach the layers through these directories.
  chmodSync(scratch, 0o755);
  const wheels = path.join(scratch, 'wheels');
  const layers = path.join(scratch, 'layers');
  mkdirSync(wheels, { mode: 0o755 });
  writeTestWheel(wheels, 'sbtiny', '1.0.0', tiny('1.0.0'));
  writeTestWheel(wheels, 'sbtiny', '1.1.0', tiny('1.1.0'));
  writeTestWheel(wheels, 'sbtinydep', '0.1.0', { 'sbtinydep.py': 'import sbtiny\ndef greet(n):\n    return sbtiny.shout("hello " + n)\n' }, ['sbtiny']);
  settings = { ...pythonSettings(), allowUnsandboxed: false, layersDir: layers, findLinks: wheels };
  t = await openTestDatabase('postgres');
  const owner = await newUser(t.db, 'owner');
  caller = callerFor(t.db, owner);
  const team = await caller.teams.create({ name: 'Py team' });
  projectId = (await caller.projects.create({ teamId: team.id, name: 'Py' })).id;
  scope = { projectId, environment: 'design' };
  await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, (q) => q("CREATE TABLE names AS SELECT * FROM (VALUES ('ada'), ('grace')) v(name)"));
}, 900_000);

afterAll(async () => {
  await disposeWithProjectRoles(t);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function run(body: string) {
  const table = `out_${Math.random().toString(16).slice(2)}`;
  const progress: string[] = [];
  const source = `# inputs: names\n# output: out\n${body}\n`;
  await buildPythonTable(t.db, scope, { cellId: 'cell', source, table, timeoutMs: 120_000, settings, onProgress: (m) => progress.push(m) });
  const rows = await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, (q) => q(`SELECT * FROM ${table} ORDER BY 1`));
  return { rows: rows.rows as Record<string, unknown>[], progress };
}

const auditOf = async () =>
  (await t.query(`select details from audit_events where action = 'project.python_requirements_change' and project_id = '${projectId}' order by seq`)).map((r) => r.details as { added: string[]; removed: string[] });

describe('per-project Python requirements', () => {
  it('refuses URLs, options, paths and unpinned lines, naming each line, and changes nothing', async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: 'sbtiny==1.0.0\n' });
    const before = await auditOf();
    const bad = ['-e git+https://example.com/x.git#egg=x', 'sbtiny>=1.0', 'https://evil.example/pkg.whl', './local/pkg', 'numpy==1.26.0', 'requests', '--index-url https://evil.example/simple'].join('\n');
    const err = await caller.projects.setPythonRequirements({ projectId, requirements: bad }).catch((e: unknown) => e as Error & { code?: string });
    expect((err as { code?: string }).code).toBe('BAD_REQUEST');
    const message = (err as Error).message;
    expect(message).toContain('line 1 (-e git+https://example.com/x.git#egg=x): pip options are not allowed');
    expect(message).toContain('line 2 (sbtiny>=1.0): must be pinned to one version with ==');
    expect(message).toContain('line 3 (https://evil.example/pkg.whl): URLs and direct references are not allowed');
    expect(message).toContain('line 4 (./local/pkg): local paths and files are not allowed');
    expect(message).toContain('line 5 (numpy==1.26.0): numpy is part of the managed Python (numpy==2.4.6)');
    expect(message).toContain('line 6 (requests): must be pinned to one version: requests==<version>');
    expect(message).toContain('line 7 (--index-url https://evil.example/simple): pip options are not allowed');
    expect((await caller.projects.pythonRequirements({ projectId })).requirements).toBe('sbtiny==1.0.0\n');
    expect(await auditOf()).toEqual(before);
  });

  it('installs the pinned packages (and what they require) before the next run, and the cell imports them', { timeout: 300_000 }, async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: '# greetings\nSBTinyDep == 0.1.0\nsbtiny==1.0.0\n' });
    expect((await caller.projects.pythonRequirements({ projectId })).install?.state).toBe('pending');
    const r = await run('import sbtiny, sbtinydep\nout = pd.DataFrame({"greeting": [sbtinydep.greet(n) for n in names["name"]], "version": sbtiny.VERSION})');
    expect(r.rows).toEqual([
      { greeting: 'HELLO ADA!', version: '1.0.0' },
      { greeting: 'HELLO GRACE!', version: '1.0.0' },
    ]);
    expect(r.progress.join('\n')).toMatch(/installing sbtiny[^\n]*1\.0\.0/i);
    const view = await caller.projects.pythonRequirements({ projectId });
    expect(view.requirements).toBe('sbtiny==1.0.0\nsbtinydep==0.1.0\n');
    expect(view.install?.state).toBe('ready');
    expect((await auditOf()).at(-1)).toMatchObject({ added: ['sbtinydep==0.1.0'], removed: [] });
    // The next run reuses the layer: no pip.
    const again = await run('import sbtiny\nout = pd.DataFrame({"v": [sbtiny.VERSION]})');
    expect(again.progress.join('\n')).not.toMatch(/installing|resolving/i);
  });

  it('re-installs when the requirements change, and the run sees the new version', { timeout: 300_000 }, async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: 'sbtiny==1.1.0\n' });
    const r = await run('import sbtiny\nout = pd.DataFrame({"v": [sbtiny.VERSION]})\ntry:\n    import sbtinydep\n    out["dep"] = "still there"\nexcept ImportError:\n    out["dep"] = "gone"');
    expect(r.rows).toEqual([{ v: '1.1.0', dep: 'gone' }]);
    // Only the current layer is kept.
    expect(readdirSync(path.join(settings.layersDir, projectId)).filter((n) => /^[0-9a-f]{64}$/.test(n))).toHaveLength(1);
    expect((await auditOf()).at(-1)).toMatchObject({ added: ['sbtiny==1.1.0'], removed: ['sbtiny==1.0.0', 'sbtinydep==0.1.0'] });
  });

  it('fails the run with pip\'s log when a package cannot be installed, and the project page shows it', { timeout: 300_000 }, async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: 'sbtiny==1.1.0\nsbnowhere==9.9.9\n' });
    const err = await run('out = pd.DataFrame({"x": [1]})').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PythonCellError);
    expect((err as PythonCellError).kind).toBe('setup');
    expect((err as PythonCellError).detail).toMatch(/^installing the project requirements failed: .*sbnowhere==9\.9\.9/);
    expect((err as PythonCellError).traceback).toContain('sbnowhere');
    const view = await caller.projects.pythonRequirements({ projectId });
    expect(view.install?.state).toBe('failed');
    expect(view.install?.log).toMatch(/sbnowhere==9\.9\.9/);
    // Nothing half-installed is left where a run would take it.
    const dirs = readdirSync(path.join(settings.layersDir, projectId));
    expect(dirs.filter((n) => n.includes('.tmp-') || n.endsWith('.lock'))).toEqual([]);
    expect(existsSync(path.join(settings.layersDir, projectId, view.sha256!))).toBe(false);
  });

  it('an emptied list runs the cell on the managed Python alone', { timeout: 120_000 }, async () => {
    await caller.projects.setPythonRequirements({ projectId, requirements: '' });
    const r = await run('try:\n    import sbtiny\n    v = "present"\nexcept ImportError:\n    v = "absent"\nout = pd.DataFrame({"v": [v]})');
    expect(r.rows).toEqual([{ v: 'absent' }]);
    expect((await caller.projects.pythonRequirements({ projectId })).install).toBeNull();
  });
});
