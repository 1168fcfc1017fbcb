import { constants, createWriteStream, type ReadStream } from 'node:fs';
import { chown, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Db } from '@/db/client';
import type { DatasetColumnType } from '@/db/schema';
import { parseNameList, readHeaders } from '@/server/pipeline/headers';
import { DEFAULT_PYTHON_LIMITS, RUNNER_DIR, runSandboxedPython, type PythonLimits, type SandboxMode } from '@/server/python/sandbox';
import { ensureProjectLayer, isProjectLayerReady, ProjectRequirementsError, type ProjectRequirements } from '@/server/python/project-layer';
import { ensurePythonVenv, pythonSettings, sandboxMode, type PythonSettings } from '@/server/python/venv';
import { z } from 'zod';
import { pgTypeOf } from '../../domain/column-types';
import { withSandboxSession, type SandboxScope } from '../datasets/sql-sandbox';
import { deployedRequirements, recordRequirementsInstall, requirementsForRun } from '../projects/python-requirements';
import { pythonUnsandboxedSetting } from '../system/instance-settings';
import { ident } from '../datasets/storage';
import { MAX_PYTHON_MODEL_BYTES, PythonModelManifest, type PythonModelEntry } from './python-model-manifest';
import { describeTable, type TableColumn } from './table-metrics';
import { readModelFrame, type ModelFrame, type ScratchReader } from './python-model-frame';

export type PythonBuildOptions = {
  cellId: string;
  source: string;
  table: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Read at most this many rows of each input (a preview's bounded sample). */
  inputLimit?: number;
  limits?: Partial<PythonLimits>;
  settings?: PythonSettings;
  onProgress?: (message: string) => void;
  /**
   * Collect the models the cell registers (stagebook.register_model) for the caller to register; a
   * preview leaves it off (the cell still converts and checks them, so mistakes show at once).
   */
  models?: boolean;
  /** Run the cell for its models only: its output is checked but not loaded (no table is created). */
  discardOutput?: boolean;
  /**
   * The extra packages to install: a deployed bundle's own list (null: none). Absent: the project's
   * current list (design runs, and bundles from before bundles carried their requirements).
   */
  requirements?: ProjectRequirements | null;
};

/**
 * A model a Python cell registered: its manifest entry (checked), its ONNX file, the ONNX file of
 * the copy fitted on the training part (`estimate`) and the rows it was fitted and judged on.
 */
export type PythonCellModel = { entry: PythonModelEntry; bytes: Uint8Array; estimate: Uint8Array; frame: ModelFrame };

/** A Python cell's own failure (its code, its output, its limits): the user's to fix, never retried. */
export class PythonCellError extends Error {
  constructor(
    readonly cellId: string,
    readonly kind: 'syntax' | 'runtime' | 'api' | 'memory' | 'timeout' | 'limit' | 'sandbox' | 'setup',
    readonly detail: string,
    /** 1-based line in the cell, when the traceback points into it. */
    readonly line: number | null = null,
    readonly traceback = '',
  ) {
    super(`python cell ${cellId}: ${line ? `line ${line}: ` : ''}${detail}${traceback ? `\n${traceback.trimEnd()}` : ''}`);
    this.name = 'PythonCellError';
  }
}

export function declaredPythonInputs(source: string): string[] {
  const h = readHeaders(source, '#').get('inputs');
  return h ? parseNameList(h).names.map((n) => n.name) : [];
}

export function declaredPythonOutput(source: string): string | null {
  return readHeaders(source, '#').get('output')?.value.trim() || null;
}

/**
 * Builds `table` from a Python cell. Columns move as files, never as row objects in Node: each
 * input is `COPY (SELECT ...) TO STDOUT (FORMAT csv)` from the project's sandbox session into the
 * run's scratch directory; the cell runs under bubblewrap (server/python/sandbox.ts) where pyarrow
 * reads those files with the datasets' column types into pandas; its output DataFrame comes back as
 * CSV with its column types, and `COPY ... FROM STDIN` loads it into the staging table in the same
 * session. A failure leaves no table behind.
 */
export async function buildPythonTable(db: Db, scope: SandboxScope, opts: PythonBuildOptions): Promise<{ rowsIn: number; rowCount: number; columns: string[]; mode: SandboxMode; stdout: string; models: PythonCellModel[]; cappedInputs: string[] }> {
  const settings = opts.settings ?? pythonSettings();
  const say = opts.onProgress ?? (() => {});
  const { mode, venv, layerDir } = await preparePython(db, scope.projectId, settings, opts, say);
  const limits = { ...DEFAULT_PYTHON_LIMITS, ...opts.limits };
  const scratch = await mkdtemp(path.join(tmpdir(), 'sb-python-'));
  try {
    // As root the cell runs as nobody: the scratch directory must be its own.
    if (process.getuid?.() === 0) await chown(scratch, 65534, 65534);
    const inputs = declaredPythonInputs(opts.source);
    const output = declaredPythonOutput(opts.source);
    return await withSandboxSession(db, scope, { timeoutMs: opts.timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) }, async (q, client) => {
      const jobInputs: { name: string; file: string; columns: { name: string; type: DatasetColumnType }[] }[] = [];
      let rowsIn = 0;
      // Inputs read up to `inputLimit` rows: they may have more, which the cell did not see.
      const cappedInputs: string[] = [];
      for (const [i, input] of inputs.entries()) {
        const cols = await describeTable(q, input).catch(() => null);
        if (!cols) throw new PythonCellError(opts.cellId, 'runtime', `input "${input}" has not been built yet`);
        const file = `in_${i}.csv`;
        const limit = opts.inputLimit === undefined ? '' : ` LIMIT ${Math.max(0, Math.floor(opts.inputLimit))}`;
        say(`python: reading "${input}"`);
        const copy = client.query(copyTo(`COPY (SELECT ${cols.map(selectExpr).join(', ')} FROM ${ident(input)}${limit}) TO STDOUT WITH (FORMAT csv, HEADER true)`));
        await pipeline(copy, createWriteStream(path.join(scratch, file), { mode: 0o644 }));
        const read = Number((copy as unknown as { rowCount?: number }).rowCount ?? 0);
        rowsIn += read;
        if (opts.inputLimit !== undefined && read >= opts.inputLimit) cappedInputs.push(input);
        jobInputs.push({ name: input, file: `/tmp/${file}`, columns: cols.map((c) => ({ name: c.name, type: c.type })) });
      }
      const inside = (name: string) => (mode === 'bubblewrap' ? `/tmp/${name}` : path.join(scratch, name));
      const job = {
        source: opts.source,
        output,
        inputs: jobInputs.map((j) => ({ ...j, file: inside(path.basename(j.file)) })),
        outFile: inside('out.csv'),
        outSchema: inside('out.json'),
        errorFile: inside('error.json'),
        modelDir: inside('.').replace(/\/\.$/, ''),
        modelsFile: inside('models.json'),
        registerModels: opts.models === true,
      };
      await writeJob(path.join(scratch, 'job.json'), job);
      say('python: running the cell');
      const r = await runSandboxedPython({
        mode,
        python: venv.python,
        venvDir: venv.venvDir,
        runnerDir: RUNNER_DIR,
        layerDir,
        scratch,
        args: [path.join(RUNNER_DIR, 'runner.py'), inside('job.json')],
        limits,
        bwrap: settings.bwrap,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (r.cancelled) throw new PythonCellError(opts.cellId, 'runtime', 'cancelled');
      if (r.timedOut) throw new PythonCellError(opts.cellId, 'timeout', `the cell ran longer than ${Math.round(limits.timeoutMs / 1000)} s and was stopped`);
      const failure = await readScratchJson<{ kind: 'syntax' | 'runtime' | 'api' | 'memory'; message: string; line: number | null; traceback: string }>(path.join(scratch, 'error.json'));
      if (failure) throw new PythonCellError(opts.cellId, failure.kind, failure.message, failure.line, failure.traceback);
      if (r.exitCode !== 0) throw new PythonCellError(opts.cellId, 'limit', exitReason(r, limits));
      const schema = await readScratchJson<{ columns: { name: string; type: DatasetColumnType }[]; rows: number }>(path.join(scratch, 'out.json'));
      if (!schema) throw new PythonCellError(opts.cellId, 'limit', `the cell's process ended without writing its output${tail(r.stderr)}`);
      const result = { rowsIn, rowCount: schema.rows, columns: schema.columns.map((c) => c.name), mode, stdout: r.stdout, models: opts.models ? await readModels(opts.cellId, scratch) : [], cappedInputs };
      if (opts.discardOutput) return result;
      const target = ident(opts.table);
      await q(`CREATE TABLE ${target} (${schema.columns.map((c) => `${ident(c.name)} ${pgTypeOf[c.type]}`).join(', ')})`);
      if (schema.columns.length > 0) {
        say(`python: loading ${schema.rows.toLocaleString('en-US')} rows`);
        const out = await openScratchFile(path.join(scratch, 'out.csv')).catch((err: Error) => {
          throw new PythonCellError(opts.cellId, 'api', `the cell's output cannot be read: ${err.message}`);
        });
        await pipeline(out, client.query(copyFrom(`COPY ${target} FROM STDIN WITH (FORMAT csv)`)));
      }
      return result;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * What a run needs before its process starts: how it is sandboxed (bubblewrap, or unsandboxed where
 * an instance admin or the operator allowed it; else the documented refusal), the managed venv
 * (created on first use) and the project's extra packages (installed on first use of its list).
 */
async function preparePython(
  db: Db,
  projectId: string,
  settings: PythonSettings,
  { cellId, requirements }: Pick<PythonBuildOptions, 'cellId' | 'requirements'>,
  say: (m: string) => void,
): Promise<{ mode: SandboxMode; venv: { python: string; venvDir: string }; layerDir: string | null }> {
  let mode: SandboxMode;
  try {
    mode = sandboxMode({ ...settings, allowUnsandboxed: settings.allowUnsandboxed || (await pythonUnsandboxedSetting(db)) });
  } catch (err) {
    throw new PythonCellError(cellId, 'sandbox', (err as Error).message);
  }
  if (mode === 'unsandboxed') say('python: running WITHOUT a sandbox (bubblewrap is unusable here; an instance admin or STAGEBOOK_PYTHON_UNSANDBOXED=1 allowed it)');
  const venv = await ensurePythonVenv(settings, say);
  return { mode, venv, layerDir: await projectLayer(db, projectId, settings, venv.python, { cellId, requirements }, say) };
}

/**
 * The extra packages of the run (a deployed bundle's, else the project's current list), installed
 * first if these requirements are new here; the install's outcome is recorded for the project's
 * Python page (only when they are the project's current list: recordRequirementsInstall matches
 * its sha256). A failed install fails the cell with pip's log.
 */
async function projectLayer(
  db: Db,
  projectId: string,
  settings: PythonSettings,
  python: string,
  { cellId, requirements: pinned }: Pick<PythonBuildOptions, 'cellId' | 'requirements'>,
  say: (m: string) => void,
): Promise<string | null> {
  const current = await requirementsForRun(db, projectId);
  const requirements = pinned === undefined ? current : pinned;
  if (!requirements) return null;
  const fresh = !isProjectLayerReady(settings, projectId, requirements);
  if (fresh) await recordRequirementsInstall(db, projectId, requirements.sha256, 'installing');
  try {
    // Design runs (the project's list) and production runs (the deployed bundle's) may alternate: neither prunes the other's layer.
    const keep = [current?.sha256, (await deployedRequirements(db, projectId))?.sha256].filter((s): s is string => s !== undefined);
    const dir = await ensureProjectLayer(settings, python, projectId, requirements, say, keep);
    if (fresh) await recordRequirementsInstall(db, projectId, requirements.sha256, 'ready');
    return dir;
  } catch (err) {
    if (!(err instanceof ProjectRequirementsError)) throw err;
    await recordRequirementsInstall(db, projectId, requirements.sha256, 'failed', err.log);
    throw new PythonCellError(cellId, 'setup', `${err.message} (the project's Python page shows pip's whole log)`, null, err.log.trim().split('\n').slice(-30).join('\n'));
  }
}

/** Times go out as UTC ISO text pyarrow parses; anything but the five dataset types as text. */
function selectExpr(c: TableColumn): string {
  const col = ident(c.name);
  if (c.type === 'timestamp') return `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${col}`;
  if (c.type === 'integer') return `${col}::bigint AS ${col}`;
  if (c.type === 'numeric') return `${col}::float8 AS ${col}`;
  if (c.type === 'boolean') return col;
  return `${col}::text AS ${col}`;
}

async function writeJob(file: string, job: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(job), { mode: 0o644 });
}

/**
 * The cell's process writes the scratch directory: a name there may be a symlink to anything on the
 * host (/etc/shadow, the server's secrets) or a FIFO. The server opens scratch files only with
 * O_NOFOLLOW and O_NONBLOCK (a FIFO cannot hold it), and reads only regular files.
 */
async function openScratchFile(file: string): Promise<ReadStream> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    throw new Error(err.code === 'ELOOP' ? `${path.basename(file)} is a symbolic link` : `${path.basename(file)}: ${err.code ?? err.message}`);
  });
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new Error(`${path.basename(file)} is not a regular file`);
  }
  return handle.createReadStream();
}

async function readScratchFile(file: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw err;
    throw new Error(err.code === 'ELOOP' ? `${path.basename(file)} is a symbolic link` : `${path.basename(file)}: ${err.code ?? err.message}`);
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new Error(`${path.basename(file)} is not a regular file`);
    if (st.size > maxBytes) throw new Error(`${path.basename(file)} is larger than ${maxBytes} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** A JSON file the runner writes, or null when it is missing, not a regular file or not JSON. */
async function readScratchJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse((await readScratchFile(file, 16 * 1024 ** 2)).toString('utf8')) as T;
  } catch {
    return null;
  }
}

/** models.json and the ONNX files it names, checked: the cell's process wrote them. */
async function readModels(cellId: string, scratch: string): Promise<PythonCellModel[]> {
  let text: string;
  try {
    text = (await readScratchFile(path.join(scratch, 'models.json'), 256 * 1024 ** 2)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new PythonCellError(cellId, 'api', `the models the cell registered cannot be read: ${(err as Error).message}`);
  }
  let manifest: PythonModelManifest;
  try {
    manifest = PythonModelManifest.parse(JSON.parse(text));
  } catch (err) {
    const issue = err instanceof z.ZodError ? err.issues[0] : undefined;
    const where = issue ? ` (${issue.path.join('.')}: ${issue.message})` : '';
    throw new PythonCellError(cellId, 'api', `the models the cell registered are not in the form stagebook.register_model writes${where}`);
  }
  const models: PythonCellModel[] = [];
  for (const entry of manifest.models) {
    try {
      const read: ScratchReader = (file, maxBytes) => readScratchFile(path.join(scratch, file), maxBytes);
      models.push({ entry, bytes: await read(entry.file, MAX_PYTHON_MODEL_BYTES), estimate: await read(entry.estimate.file, MAX_PYTHON_MODEL_BYTES), frame: await readModelFrame(entry, read) });
    } catch (err) {
      throw new PythonCellError(cellId, 'api', `model "${entry.name}": its ONNX files or rows cannot be read: ${(err as Error).message}`);
    }
  }
  return models;
}

function exitReason(r: { exitCode: number | null; signal: NodeJS.Signals | null; stderr: string }, limits: PythonLimits): string {
  if (r.signal === 'SIGXCPU' || r.signal === 'SIGKILL') return `the cell was stopped by its CPU limit (${limits.cpuSeconds} s) or killed${tail(r.stderr)}`;
  if (r.signal === 'SIGXFSZ') return `the cell wrote a file larger than its limit (${Math.round(limits.fileBytes / 1024 ** 2)} MB)`;
  if (r.signal) return `the cell's process was killed (${r.signal})${tail(r.stderr)}`;
  return `the cell's process failed (exit ${r.exitCode})${tail(r.stderr)}`;
}

function tail(stderr: string): string {
  const t = stderr.trim().split('\n').slice(-8).join('\n');
  return t ? `:\n${t}` : '';
}
