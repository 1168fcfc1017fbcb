import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * Python with scikit-learn + skl2onnx (bench/requirements-ml.txt, from PyPI), built once and reused
 * while that file is unchanged (~60 s to build).
 */
export function mlPythonVenv(): string {
  const dir = path.join(repoRoot, 'node_modules/.cache/stagebook/ml-venv');
  const requirements = path.join(repoRoot, 'bench/requirements-ml.txt');
  const stampFile = path.join(dir, '.requirements-sha256');
  const stamp = createHash('sha256').update(readFileSync(requirements)).digest('hex');
  const python = path.join(dir, 'bin/python');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return python;
  rmSync(dir, { recursive: true, force: true });
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  };
  run('python3', ['-m', 'venv', dir]);
  run(python, ['-m', 'pip', 'install', '-q', '-r', requirements]);
  writeFileSync(stampFile, stamp);
  return python;
}
