import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { withBuildLock, type PythonSettings } from './venv';

/** A project's requirements, as stored: normalised `name==version` lines and their sha256. */
export type ProjectRequirements = { text: string; sha256: string };

/** pip could not install a project's requirements: `log` is pip's output, for the person who wrote them. */
export class ProjectRequirementsError extends Error {
  constructor(
    message: string,
    readonly log: string,
  ) {
    super(message);
    this.name = 'ProjectRequirementsError';
  }
}

const READY = '.stagebook-ready';
const MAX_LOG = 64_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `layersDir/<projectId>/<sha256>`: a change of requirements is a new directory, never an edit of one a run may be reading. */
export function projectLayerDir(settings: Pick<PythonSettings, 'layersDir'>, projectId: string, sha256: string): string {
  if (!UUID.test(projectId) || !/^[0-9a-f]{64}$/.test(sha256)) throw new Error('a project layer needs a project id and a sha256');
  return path.join(settings.layersDir, projectId, sha256);
}

/** Whether these requirements' layer is installed here (a run can start without pip). */
export function isProjectLayerReady(settings: Pick<PythonSettings, 'layersDir'>, projectId: string, requirements: ProjectRequirements): boolean {
  return requirements.text.trim() === '' || existsSync(path.join(projectLayerDir(settings, projectId, requirements.sha256), READY));
}

/**
 * The directory of a project's extra packages, installed on first use of these requirements (null
 * when there are none). Mounted read-only into the sandbox beside the managed venv and put on the
 * cell's PYTHONPATH, so only that project's runs see it.
 *
 * How pip runs (on the host, outside the sandbox, so it must not run anyone's code):
 * 1. Wheels only (`--only-binary=:all:`): a source distribution would run its setup.py here.
 * 2. Resolve with `--dry-run --report` in the managed venv, with every package the venv holds as a
 *    constraint at its installed version: dependencies the venv already satisfies are not installed
 *    again, and one that would need a different numpy fails to resolve instead of shadowing it.
 * 3. Install exactly the resolved packages with `--no-deps --target` into a fresh directory, which
 *    is renamed into place when complete: a run never sees a half-installed layer.
 * Processes sharing the directory wait for one install (withBuildLock).
 */
export async function ensureProjectLayer(
  settings: PythonSettings,
  python: string,
  projectId: string,
  requirements: ProjectRequirements,
  onProgress: (message: string) => void = () => {},
  /** Other layers of the project still in use (another list's runs: a deployed bundle's and the project's current one), kept when pruning. */
  keep: readonly string[] = [],
): Promise<string | null> {
  if (requirements.text.trim() === '') return null;
  const dir = projectLayerDir(settings, projectId, requirements.sha256);
  const ready = () => existsSync(path.join(dir, READY));
  if (ready()) return dir;
  await withBuildLock(`${dir}.lock`, ready, () => onProgress('python: waiting for another process installing the project requirements'), async () => {
    const work = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
    await mkdir(work, { recursive: true });
    const log: string[] = [];
    try {
      await writeFile(path.join(work, 'requirements.txt'), requirements.text);
      const frozen = await pip(python, ['list', '--format=freeze', '--disable-pip-version-check'], [], () => {});
      await writeFile(path.join(work, 'constraints.txt'), frozen);
      const index = settings.findLinks ? ['--no-index', '--find-links', settings.findLinks] : [];
      const common = ['--disable-pip-version-check', '--no-input', '--progress-bar', 'off', '--only-binary=:all:', ...index];
      onProgress(`python: resolving the project requirements (${requirements.text.trim().split('\n').length} pinned)`);
      await pip(python, ['install', '--dry-run', '--report', path.join(work, 'report.json'), ...common, '-c', path.join(work, 'constraints.txt'), '-r', path.join(work, 'requirements.txt')], log, onProgress);
      const resolved = await resolvedPins(path.join(work, 'report.json'));
      const target = path.join(work, 'layer');
      await mkdir(target);
      if (resolved.length > 0) {
        onProgress(`python: installing ${resolved.join(', ')}`);
        await writeFile(path.join(work, 'resolved.txt'), resolved.map((r) => `${r}\n`).join(''));
        await pip(python, ['install', '--no-deps', '--target', target, ...common, '-r', path.join(work, 'resolved.txt')], log, onProgress);
      }
      await writeFile(path.join(target, READY), requirements.text);
      await openUp(target);
      await rm(dir, { recursive: true, force: true });
      await rename(target, dir);
      onProgress('python: project requirements ready');
    } catch (err) {
      const all = log.join('');
      // pip's own verdict ("ERROR: No matching distribution found for x==1") says it best.
      const verdict = all.split('\n').find((l) => l.startsWith('ERROR: '))?.slice('ERROR: '.length);
      throw new ProjectRequirementsError(`installing the project requirements failed: ${verdict ?? (err as Error).message}`, err instanceof ProjectRequirementsError ? err.log : all.slice(-MAX_LOG));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
  await pruneOtherLayers(path.dirname(dir), [path.basename(dir), ...keep]);
  return dir;
}

/** `name==version` of what pip's report would install (what the venv lacks). */
async function resolvedPins(report: string): Promise<string[]> {
  const r = JSON.parse(await readFile(report, 'utf8')) as { install?: { metadata?: { name?: string; version?: string } }[] };
  return (r.install ?? []).map((i) => {
    const { name, version } = i.metadata ?? {};
    if (!name || !version) throw new Error("pip's report names a package without a name or version");
    return `${name}==${version}`;
  });
}

/** As root the cell runs as nobody, who must read the layer (pip keeps the umask; make it explicit). */
async function openUp(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) await chmod(p, 0o755);
    else if (entry.isFile()) await chmod(p, ((await stat(p)).mode & 0o100) !== 0 ? 0o755 : 0o644);
  }
  await chmod(dir, 0o755);
}

/**
 * Layers of the project's earlier requirements go once the current one is ready, except those still
 * in use (`keep`). A run that started on an old layer keeps it: its bind mount holds the directory,
 * and rm only unlinks the names.
 */
async function pruneOtherLayers(projectDir: string, keep: readonly string[]): Promise<void> {
  const names = await readdir(projectDir).catch(() => [] as string[]);
  for (const name of names) {
    if (keep.includes(name) || !/^[0-9a-f]{64}$/.test(name)) continue;
    if (existsSync(path.join(projectDir, `${name}.lock`))) continue;
    await rm(path.join(projectDir, name), { recursive: true, force: true }).catch(() => {});
  }
}

function pip(python: string, args: string[], log: string[], onProgress: (message: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'pip', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const take = (d: Buffer, out: boolean) => {
      const text = d.toString('utf8');
      if (out) stdout += text;
      log.push(text);
      for (const line of text.split('\n')) if (/^(Collecting|Installing|Successfully|Would install)/.test(line.trim())) onProgress(`python: ${line.trim()}`);
    };
    child.stdout.on('data', (d: Buffer) => take(d, true));
    child.stderr.on('data', (d: Buffer) => take(d, false));
    child.on('error', (err) => reject(new ProjectRequirementsError(`could not run pip: ${err.message}`, log.join(''))));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new ProjectRequirementsError(`pip ${args[0]} exited with ${code}`, log.join('').slice(-MAX_LOG)));
    });
  });
}
