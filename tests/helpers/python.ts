import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * Python with scikit-learn + skl2onnx (bench/requirements-ml.txt, from PyPI). While Python cells'
 * managed venv pins the same versions of all of them, it is that venv (one build of numpy, pandas
 * and scikit-learn per checkout instead of two, ~1-3 min each here); otherwise one of its own,
 * built once and reused while that file is unchanged.
 */
export function mlPythonVenv(): string {
  const ml = 'bench/requirements-ml.txt';
  const cells = pins('server/python/requirements.txt');
  if ([...pins(ml)].every((pin) => cells.has(pin))) return pythonCellVenv();
  return lockedPythonVenv('ml-venv', ml);
}

/** The `name==version` lines of a requirements file (relative to the repo), names lower-cased. */
function pins(requirementsFile: string): Set<string> {
  const lines = readFileSync(path.join(repoRoot, requirementsFile), 'utf8').split('\n');
  return new Set(lines.map((l) => l.replace(/#.*/, '').trim().toLowerCase()).filter((l) => l !== ''));
}

/**
 * The python of a venv `name` with the pinned packages of `requirementsFile` (relative to the repo),
 * built once and reused while that file is unchanged; concurrent callers wait for one build.
 */
export function lockedPythonVenv(name: string, requirementsFile: string): string {
  const dir = path.join(repoRoot, 'node_modules/.cache/stagebook', name);
  const requirements = path.join(repoRoot, requirementsFile);
  const stampFile = path.join(dir, '.requirements-sha256');
  const stamp = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const python = path.join(dir, 'bin/python');
  const ready = () => existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;
  buildOnce(dir, ready, () => {
    buildVenv(dir, python, requirements);
    writeFileSync(stampFile, stamp);
  });
  return python;
}

/**
 * Runs `build` once across the test run's processes: under the directory lock `${dir}.lock`, unless
 * `ready()`. Others wait (at most 15 minutes) and return once it is ready; a lock older than that is
 * a killed build's and is cleared.
 */
function buildOnce(dir: string, ready: () => boolean, build: () => void): void {
  if (ready()) return;
  const lock = `${dir}.lock`;
  mkdirSync(path.dirname(lock), { recursive: true });
  const deadline = Date.now() + 900_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 900_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 15 minutes for ${lock}`, { cause: err });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
      if (ready()) return;
    }
  }
  try {
    if (!ready()) build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function buildVenv(dir: string, python: string, requirements: string) {
  rmSync(dir, { recursive: true, force: true });
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  };
  run('python3', ['-m', 'venv', dir]);
  run(python, ['-m', 'pip', 'install', '-q', '-r', requirements]);
}

/**
 * The managed venv of Python cells (server/python/requirements.txt) where vitest.config.ts points
 * STAGEBOOK_PYTHON_VENV, built once per checkout from Debian's python3 (as root, cells run as nobody,
 * who cannot read a pyenv under /root). The product builds the same venv itself on first use.
 */
export function pythonCellVenv(): string {
  const dir = process.env.STAGEBOOK_PYTHON_VENV ?? path.join(repoRoot, 'node_modules/.cache/stagebook/python-venv');
  const requirements = path.join(repoRoot, 'server/python/requirements.txt');
  const stampFile = path.join(dir, '.requirements-sha256');
  const stamp = createHash('sha256').update(readFileSync(requirements, 'utf8')).digest('hex');
  const python = path.join(dir, 'bin/python');
  buildOnce(dir, () => existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp, () => {
    rmSync(dir, { recursive: true, force: true });
    const base = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    for (const [cmd, args] of [
      [base, ['-m', 'venv', dir]],
      [python, ['-m', 'pip', 'install', '-q', '-r', requirements]],
    ] as const) {
      const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 900_000 });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
    }
    writeFileSync(stampFile, stamp);
  });
  return python;
}

/**
 * Writes a pure-Python wheel `<name>-<version>-py3-none-any.whl` into `dir` (a pip --find-links
 * directory), so tests install project requirements without the network. `modules` maps file names
 * in the wheel to their source; `requires` become Requires-Dist lines.
 */
export function writeTestWheel(dir: string, name: string, version: string, modules: Record<string, string>, requires: string[] = []): string {
  const script = `
import base64, hashlib, json, sys, zipfile
d, name, version, modules, requires = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), json.loads(sys.argv[5])
info = f"{name}-{version}.dist-info"
files = dict(modules)
files[f"{info}/METADATA"] = "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (name, version) + "".join("Requires-Dist: %s\\n" % r for r in requires)
files[f"{info}/WHEEL"] = "Wheel-Version: 1.0\\nGenerator: stagebook-tests\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
record = []
for path, text in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
    record.append(f"{path},sha256={digest},{len(text.encode())}")
record.append(f"{info}/RECORD,,")
files[f"{info}/RECORD"] = "\\n".join(record) + "\\n"
out = f"{d}/{name}-{version}-py3-none-any.whl"
with zipfile.ZipFile(out, "w") as z:
    for path, text in files.items():
        z.writestr(path, text)
print(out)
`;
  const r = spawnSync('python3', ['-c', script, dir, name, version, JSON.stringify(modules), JSON.stringify(requires)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`writing the wheel failed:\n${r.stderr}`);
  return r.stdout.trim();
}
