import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import { pythonSettings, type PythonSettings } from '@/server/python/venv';
import { createApiKey } from '@/server/services/api-keys/create-api-key';
import { resolveApiKey } from '@/server/services/api-keys/resolve-api-key';
import { buildPythonTable, PythonCellError } from '@/server/services/cells/build-python-table';
import { withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { pythonCellVenv, writeTestWheel } from '../helpers/python';

/**
 * A project's extra packages are that project's alone: another project's run (even in the same
 * team) cannot import them, list them or find their directory; and only the project's deployers
 * (and admins) may change what every Python run of the project installs.
 */
let t: TestDatabase;
let settings: PythonSettings;
let scratch: string;
let a: SandboxScope;
let b: SandboxScope;
let owner: Awaited<ReturnType<typeof newUser>>;
let teamId: string;

beforeAll(async () => {
  pythonCellVenv();
  scratch = mkdtempSync(path.join(tmpdir(), 'sb-pyreqs-sec-'));
  chmodSync(scratch, 0o755);
  const wheels = path.join(scratch, 'wheels');
  mkdirSync(wheels, { mode: 0o755 });
  writeTestWheel(wheels, 'sbsecret', '1.0.0', { 'sbsecret.py': 'TOKEN = "project-a-only"\n' });
  settings = { ...pythonSettings(), allowUnsandboxed: false, layersDir: path.join(scratch, 'layers'), findLinks: wheels };
  t = await openTestDatabase('postgres');
  owner = await newUser(t.db, 'owner');
  const caller = callerFor(t.db, owner);
  teamId = (await caller.teams.create({ name: 'Team' })).id;
  a = { projectId: (await caller.projects.create({ teamId, name: 'A' })).id, environment: 'design' };
  b = { projectId: (await caller.projects.create({ teamId, name: 'B' })).id, environment: 'design' };
  for (const s of [a, b]) await withSandboxSession(t.db, s, { timeoutMs: 10_000 }, (q) => q('CREATE TABLE nums AS SELECT 1::bigint AS x'));
  await caller.projects.setPythonRequirements({ projectId: a.projectId, requirements: 'sbsecret==1.0.0' });
}, 900_000);

afterAll(async () => {
  await disposeWithProjectRoles(t);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function cell(scope: SandboxScope, body: string): Promise<string> {
  const source = `# inputs: nums\n# output: out\n${body}\n`;
  try {
    await buildPythonTable(t.db, scope, { cellId: 'probe', source, table: `probe_${Math.random().toString(16).slice(2)}`, timeoutMs: 120_000, settings });
    return 'built';
  } catch (err) {
    if (!(err instanceof PythonCellError)) throw err;
    return err.detail;
  }
}

describe("a project's Python layer", () => {
  it('is on the path of its own project’s runs, read-only', { timeout: 300_000 }, async () => {
    expect(await cell(a, 'import sbsecret\nraise SystemExit("token " + sbsecret.TOKEN)')).toBe('SystemExit: token project-a-only');
    expect(await cell(a, 'import sbsecret, os\nopen(os.path.join(os.path.dirname(sbsecret.__file__), "planted.py"), "w").write("x")\nout = nums')).toMatch(/^OSError: \[Errno 30\] Read-only file system/);
  });

  it("is out of reach of another project's run: not importable, not mounted, not at its host path", { timeout: 300_000 }, async () => {
    expect(await cell(b, 'import sbsecret\nout = nums')).toBe("ModuleNotFoundError: No module named 'sbsecret'");
    const listing = await cell(b, `import os, sys
mounts = sorted(os.listdir("/opt/stagebook"))
host = os.path.exists(${JSON.stringify(settings.layersDir)})
path = [p for p in sys.path if "project" in p or ${JSON.stringify(a.projectId)} in p]
raise SystemExit("seen: " + ",".join(mounts) + " | " + str(host) + " | " + ",".join(path))`);
    expect(listing).toBe('SystemExit: seen: runner,venv | False |');
  });
});

describe('who may change the requirements', () => {
  it('refuses viewers, editors, members of another team and API keys, and changes nothing', { timeout: 60_000 }, async () => {
    const refused: Record<string, string> = {};
    for (const role of ['viewer', 'editor'] as const) {
      const u = await newUser(t.db, role);
      await t.db.insert(teamMembers).values({ teamId, userId: u.userId, role });
      refused[role] = await trpcCode(callerFor(t.db, u).projects.setPythonRequirements({ projectId: a.projectId, requirements: 'evil==6.6.6' }));
    }
    const outsider = await newUser(t.db, 'outsider');
    await callerFor(t.db, outsider).teams.create({ name: 'Elsewhere' });
    refused.outsider = await trpcCode(callerFor(t.db, outsider).projects.setPythonRequirements({ projectId: a.projectId, requirements: 'evil==6.6.6' }));
    for (const scope of ['read', 'run', 'deploy'] as const) {
      const key = await createApiKey({ ctx: ctxFor(t.db, { type: 'system', name: 'test' }), input: { projectId: a.projectId, name: scope, scopes: [scope] } });
      refused[`key:${scope}`] = await trpcCode(callerFor(t.db, await resolveApiKey(t.db, key.secret)).projects.setPythonRequirements({ projectId: a.projectId, requirements: 'evil==6.6.6' }));
    }
    refused.anonymous = await trpcCode(callerFor(t.db, null).projects.setPythonRequirements({ projectId: a.projectId, requirements: 'evil==6.6.6' }));
    expect(refused).toEqual({ viewer: 'FORBIDDEN', editor: 'FORBIDDEN', outsider: 'FORBIDDEN', 'key:read': 'FORBIDDEN', 'key:run': 'FORBIDDEN', 'key:deploy': 'FORBIDDEN', anonymous: 'UNAUTHORIZED' });
    expect((await callerFor(t.db, owner).projects.pythonRequirements({ projectId: a.projectId })).requirements).toBe('sbsecret==1.0.0\n');
    const audits = await t.query(`select count(*)::int as n from audit_events where action = 'project.python_requirements_change' and project_id = '${a.projectId}'`);
    expect(audits[0]!.n).toBe(1);
  });
});
