import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadEnv, type Env } from '@/server/env';
import { bubblewrapStatus, PythonSandboxUnavailable, type SandboxMode } from './sandbox';

export const REQUIREMENTS_FILE = path.join(import.meta.dirname, 'requirements.txt');

export type PythonSettings = {
  /** Where the managed venv lives: STAGEBOOK_PYTHON_VENV, else $STAGEBOOK_HOME/python-venv. */
  venvDir: string;
  /** The interpreter the venv is made from (STAGEBOOK_PYTHON, else /usr/bin/python3, else python3 on PATH). */
  basePython: string;
  /** The admin allowed running Python cells without a sandbox (STAGEBOOK_PYTHON_UNSANDBOXED=1). */
  allowUnsandboxed: boolean;
  /** The bubblewrap binary (tests point it at a missing one). */
  bwrap: string;
  /** Where projects' extra packages are installed, one layer per project and requirements hash: $STAGEBOOK_HOME/python/projects. */
  layersDir: string;
  /** A directory of wheels pip installs projects' requirements from instead of the package index (STAGEBOOK_PYTHON_FIND_LINKS). */
  findLinks: string | null;
};

export function pythonSettings(env: Pick<Env, 'homeDir' | 'STAGEBOOK_PYTHON_VENV' | 'STAGEBOOK_PYTHON' | 'STAGEBOOK_PYTHON_UNSANDBOXED' | 'STAGEBOOK_PYTHON_FIND_LINKS'> = loadEnv()): PythonSettings {
  return {
    venvDir: path.resolve(env.STAGEBOOK_PYTHON_VENV ?? path.join(env.homeDir, 'python-venv')),
    // As root the cell runs as nobody, who must be able to read the interpreter: Debian's, not one
    // under /root (pyenv).
    basePython: env.STAGEBOOK_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'),
    allowUnsandboxed: env.STAGEBOOK_PYTHON_UNSANDBOXED,
    bwrap: 'bwrap',
    layersDir: path.join(env.homeDir, 'python', 'projects'),
    findLinks: env.STAGEBOOK_PYTHON_FIND_LINKS ? path.resolve(env.STAGEBOOK_PYTHON_FIND_LINKS) : null,
  };
}

/** How Python cells run here: in bubblewrap, unsandboxed (the admin allowed it), or refused with how to fix it. */
export function sandboxMode(settings: PythonSettings): SandboxMode {
  const status = bubblewrapStatus(settings.bwrap);
  if (status.ok) return 'bubblewrap';
  if (settings.allowUnsandboxed) return 'unsandboxed';
  throw new PythonSandboxUnavailable(status.why);
}

export class PythonSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PythonSetupError';
  }
}

const stampOf = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The managed venv's python, created on first use with the pinned requirements (pip, from the
 * package index the machine reaches) and rebuilt when they change. Processes sharing the directory
 * wait for one build (a lock directory; a lock older than 20 minutes is taken over).
 */
export async function ensurePythonVenv(settings: PythonSettings, onProgress: (message: string) => void = () => {}): Promise<{ python: string; venvDir: string }> {
  const dir = settings.venvDir;
  const python = path.join(dir, 'bin/python');
  const requirements = await readFile(REQUIREMENTS_FILE, 'utf8');
  const stampFile = path.join(dir, '.requirements-sha256');
  const stamp = stampOf(requirements);
  const ready = () => existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  if (ready()) return { python, venvDir: dir };
  await withBuildLock(`${dir}.lock`, ready, () => onProgress('python: waiting for another process creating the venv'), async () => {
    await rm(dir, { recursive: true, force: true });
    onProgress(`python: creating the venv in ${dir}`);
    await run(settings.basePython, ['-m', 'venv', dir], onProgress);
    onProgress('python: installing pandas, numpy, pyarrow, scikit-learn, skl2onnx, onnx, onnxruntime (first use only)');
    await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '-r', REQUIREMENTS_FILE], onProgress);
    await writeFile(stampFile, stamp);
    onProgress('python: venv ready');
  });
  return { python, venvDir: dir };
}

/**
 * Runs `build` once among the processes sharing `lock` (a directory: mkdir is atomic), unless
 * `ready()` says another one already did. A lock older than 20 minutes is taken over.
 */
export async function withBuildLock(lock: string, ready: () => boolean, onWait: () => void, build: () => Promise<void>): Promise<void> {
  await mkdir(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = await stat(lock).catch(() => null);
      if (held && Date.now() - held.mtimeMs > 20 * 60_000) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new PythonSetupError(`waited 20 minutes for another process to finish ${lock}`);
      onWait();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    if (!ready()) await build();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Runs pip (or venv) with its output in `log` (the last 8,000 characters), progress lines to `onProgress`. */
export function run(cmd: string, args: string[], onProgress: (message: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const take = (d: Buffer) => {
      const text = d.toString('utf8');
      log = (log + text).slice(-8_000);
      for (const line of text.split('\n')) if (/^(Collecting|Installing|Successfully)/.test(line.trim())) onProgress(`python: ${line.trim()}`);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => reject(new PythonSetupError(`could not run ${cmd}: ${err.message} (Python cells need python3 with venv; set STAGEBOOK_PYTHON to one)`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new PythonSetupError(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${log}`))));
  });
}
