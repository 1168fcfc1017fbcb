import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPythonTable, PythonCellError } from '@/server/services/cells/build-python-table';
import { withSandboxSession, type SandboxScope } from '@/server/services/datasets/sql-sandbox';
import { registerPythonModel, type PythonModelEntry } from '@/server/services/models/register-python-model';
import { ServiceError } from '@/server/services/errors';
import { pythonSettings, type PythonSettings } from '@/server/python/venv';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { disposeWithProjectRoles } from '../helpers/datasets';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { pythonCellVenv } from '../helpers/python';

/**
 * The boundary back out of the sandbox: what a Python cell's process leaves in its scratch
 * directory (out.csv, out.json, models.json, model files) is read by the server, which must not
 * follow a symlink the cell planted to a host file, block on a FIFO, or take a forged model report.
 * Each cell skips the runner's own writing (os._exit) so only the planted files are there.
 */
let t: TestDatabase;
let scope: SandboxScope;
let settings: PythonSettings;
let secretFile: string;
let editor: Awaited<ReturnType<typeof newUser>>;
const SECRET = 'host-secret-7f3a';

beforeAll(async () => {
  pythonCellVenv();
  t = await openTestDatabase('postgres');
  editor = await newUser(t.db, 'editor');
  const caller = callerFor(t.db, editor);
  const team = await caller.teams.create({ name: 'Team' });
  scope = { projectId: (await caller.projects.create({ teamId: team.id, name: 'Py' })).id, environment: 'design' };
  await withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, (q) => q('CREATE TABLE nums AS SELECT x::bigint AS x FROM generate_series(1, 10) x'));
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-secret-'));
  secretFile = path.join(dir, 'secret.txt');
  writeFileSync(secretFile, `${SECRET}\n`);
  chmodSync(dir, 0o700);
  settings = { ...pythonSettings(), allowUnsandboxed: false };
}, 900_000);

afterAll(async () => {
  await disposeWithProjectRoles(t);
});

async function plant(body: string) {
  const table = `planted_${Math.random().toString(16).slice(2)}`;
  const source = `# inputs: nums\n# output: out\nimport json, os\n${body}\nos._exit(0)\n`;
  try {
    const r = await buildPythonTable(t.db, scope, { cellId: 'plant', source, table, timeoutMs: 30_000, settings, models: true, limits: { timeoutMs: 20_000 } });
    return { error: null, r, table };
  } catch (err) {
    if (!(err instanceof PythonCellError)) throw err;
    return { error: err, r: null, table };
  }
}

const tableExists = async (table: string) =>
  withSandboxSession(t.db, scope, { timeoutMs: 10_000 }, async (q) => (await q(`SELECT to_regclass('${table}') IS NOT NULL AS e`)).rows[0]?.e === true);

const outJson = `json.dump({"columns": [{"name": "line", "type": "text"}], "rows": 1}, open("/tmp/out.json", "w"))`;

describe('python cell outputs read by the server', () => {
  it('does not follow an out.csv symlink to a host file into the dataset', { timeout: 60_000 }, async () => {
    const r = await plant(`${outJson}\nos.symlink(${JSON.stringify(secretFile)}, "/tmp/out.csv")`);
    expect(r.error?.detail).toMatch(/output cannot be read: out.csv is a symbolic link/);
    expect(r.error?.message).not.toContain(SECRET);
    expect(await tableExists(r.table)).toBe(false);
  });

  it('does not block on an out.csv FIFO', { timeout: 60_000 }, async () => {
    const t0 = performance.now();
    const r = await plant(`${outJson}\nos.mkfifo("/tmp/out.csv")`);
    expect(r.error?.detail).toMatch(/out.csv is not a regular file/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });

  it('does not read a model file symlinked to a host file', { timeout: 60_000 }, async () => {
    const r = await plant(`${outJson}\nopen("/tmp/out.csv", "w").write('"a"\\n')
json.dump({"models": [${JSON.stringify(entry({}))}]}, open("/tmp/models.json", "w"))
os.symlink(${JSON.stringify(secretFile)}, "/tmp/model_0.onnx")`);
    expect(r.error?.detail).toMatch(/model "forged": its ONNX files or rows cannot be read: model_0.onnx is a symbolic link/);
    expect(r.error?.message).not.toContain(SECRET);
  });

  it('does not read a model frame column symlinked to a host file, nor one of the wrong length', { timeout: 60_000 }, async () => {
    const common = `${outJson}\nopen("/tmp/out.csv", "w").write('"a"\\n')
json.dump({"models": [${JSON.stringify(entry({}))}]}, open("/tmp/models.json", "w"))
open("/tmp/model_0.onnx", "wb").write(b"x")
open("/tmp/model_0_estimate.onnx", "wb").write(b"x")`;
    const linked = await plant(`${common}\nos.symlink(${JSON.stringify(secretFile)}, "/tmp/frame_0_0.f64")`);
    expect(linked.error?.detail).toMatch(/model "forged": its ONNX files or rows cannot be read: frame_0_0.f64 is a symbolic link/);
    expect(linked.error?.message).not.toContain(SECRET);
    const short = await plant(`${common}\nopen("/tmp/frame_0_0.f64", "wb").write(bytes(8 * 9))`);
    expect(short.error?.detail).toMatch(/model "forged": its ONNX files or rows cannot be read: frame_0_0.f64 holds 9 numbers, not 10/);
  });

  it('refuses a forged model report: a check worse than 1e-5, probabilities outside [0, 1], a file outside scratch', { timeout: 60_000 }, async () => {
    for (const [forged, field] of [
      [entry({ check: { rows: 10, maxAbsDiff: 0.2 } }), 'models.0.check.maxAbsDiff'],
      [entry({ holdout: { fraction: 0.2, seed: 1, y: [0, 1], p: [0.5, 7] } }), 'models.0.holdout.p.1'],
      [entry({ file: '../../etc/passwd' }), 'models.0.file'],
    ] as const) {
      const r = await plant(`${outJson}\nopen("/tmp/out.csv", "w").write('"a"\\n')\njson.dump({"models": [${JSON.stringify(forged)}]}, open("/tmp/models.json", "w"))`);
      expect(r.error?.detail).toContain(`not in the form stagebook.register_model writes (${field}:`);
    }
  });

  it('registers nothing from bytes that are not a servable ONNX classifier, with a clear error', async () => {
    const ctx = ctxFor(t.db, editor);
    const frame = { rows: 10, columns: [{ name: 'x', kind: 'number' as const, values: new Float64Array(10) }], y: Uint8Array.from({ length: 10 }, (_, i) => i % 2), holdout: Uint8Array.from({ length: 10 }, (_, i) => (i >= 8 ? 1 : 0)) };
    const bytes = new TextEncoder().encode(SECRET);
    const attempt = registerPythonModel({ ctx, input: { projectId: scope.projectId, cellId: 'c', entry: entry({}), bytes, estimate: bytes, frame, environment: 'design', inputs: ['credit'] } });
    await expect(attempt).rejects.toBeInstanceOf(ServiceError);
    await expect(attempt).rejects.toThrow(/model "forged": the converted model cannot be served: not an ONNX model/);
    await expect(callerFor(t.db, editor).models.versionDetail({ projectId: scope.projectId, name: 'forged', version: 1 })).rejects.toThrow();
  });
});

function entry(over: Partial<PythonModelEntry>): PythonModelEntry {
  return {
    name: 'forged',
    target: 'status',
    positiveClass: 'bad',
    features: ['x'],
    booleans: [],
    pipeline: 'Pipeline()',
    inputTensor: 'float',
    fittedOn: 'all',
    rows: 10,
    rowsWithoutTarget: 0,
    trainingRows: 8,
    holdout: { fraction: 0.2, seed: 1, y: [0, 1], p: [0.2, 0.8] },
    check: { rows: 10, maxAbsDiff: 0 },
    seconds: { fit: 0, convertAndCheck: 0 },
    iterations: 1,
    file: 'model_0.onnx',
    estimate: { file: 'model_0_estimate.onnx', check: { rows: 2, maxAbsDiff: 0 } },
    frame: { rows: 10, columns: [{ name: 'x', kind: 'number', file: 'frame_0_0.f64' }], y: 'frame_0_y.u8', holdout: 'frame_0_holdout.u8' },
    ...over,
  };
}
