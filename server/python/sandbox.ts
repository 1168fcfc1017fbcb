import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Runs a Python cell's process under bubblewrap.
 *
 * Threat model: a cell's author may write any Python. It must not reach the network (Postgres,
 * the server, the internet), read or write anything but its run's scratch directory (not
 * $STAGEBOOK_HOME, not other projects' files, not the server's code or secrets), nor take the
 * machine down (fork bombs, memory, CPU, disk), and it must stop when its time is up or the build
 * is cancelled.
 *
 * 1. Namespaces (bwrap --unshare-all): an empty network namespace (no interface but a down
 *    loopback), its own pid, ipc, uts and cgroup namespaces, and a mount namespace that holds only
 *    /usr (read-only: the interpreter and its libraries), the venv (read-only), the runner
 *    (read-only), the run's own project's extra packages if it has any (read-only; never another
 *    project's), a fresh /proc and /dev, and the scratch directory as /tmp (the only writable
 *    place). Nothing else of the host's file system exists inside.
 * 2. Identity: as root, the process drops to nobody (65534) before bwrap (setpriv), so it holds no
 *    capability on the host and RLIMIT_NPROC counts (root is exempt from it).
 * 3. rlimits (prlimit): address space, CPU seconds, processes, file size, open files.
 * 4. Time: the process group is SIGKILLed at the deadline or on cancel; --die-with-parent and the
 *    pid namespace take every descendant with it.
 *
 * Residual: nproc is counted per host user, so Python cells running at once share one budget; not
 * as root (a user's own server), nproc is not set (the limit would count the server's own processes).
 */
export type PythonLimits = {
  /** Address space of the cell's process, bytes. */
  memoryBytes: number;
  cpuSeconds: number;
  processes: number;
  fileBytes: number;
  /** Wall clock for the whole run; the process group is killed after it. */
  timeoutMs: number;
};

export const DEFAULT_PYTHON_LIMITS: PythonLimits = {
  memoryBytes: 4 * 1024 ** 3,
  cpuSeconds: 600,
  processes: 64,
  fileBytes: 4 * 1024 ** 3,
  timeoutMs: 15 * 60_000,
};

export type SandboxMode = 'bubblewrap' | 'unsandboxed';

/** Thrown when no sandbox is available and the admin did not allow running without one. */
export class PythonSandboxUnavailable extends Error {
  constructor(why: string) {
    super(
      `Python cells run only in a sandbox and bubblewrap is not usable here (${why}). ` +
        'Install it (Debian/Ubuntu: `apt-get install -y bubblewrap`) and make sure user namespaces are enabled ' +
        '(`sysctl kernel.unprivileged_userns_clone=1`, `user.max_user_namespaces` > 0); ' +
        'or, on a single-user laptop only, an instance admin may allow running without a sandbox on the Instance settings page (/instance; audited, shown on every Python cell), ' +
        'or the operator may start Stagebook with STAGEBOOK_PYTHON_UNSANDBOXED=1.',
    );
    this.name = 'PythonSandboxUnavailable';
  }
}

let probed: { ok: true } | { ok: false; why: string } | undefined;

/** Whether bubblewrap can make the namespaces we need here (probed once per process). */
export function bubblewrapStatus(bwrap = 'bwrap'): { ok: true } | { ok: false; why: string } {
  if (probed && bwrap === 'bwrap') return probed;
  const r = spawnSync(bwrap, ['--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', 'true'], { encoding: 'utf8', timeout: 10_000 });
  const status: { ok: true } | { ok: false; why: string } =
    r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT'
      ? { ok: false, why: `"${bwrap}" was not found` }
      : r.status === 0
        ? { ok: true }
        : { ok: false, why: `"${bwrap} --unshare-all" failed: ${(r.stderr || String(r.error ?? '')).trim() || `exit ${r.status}`}` };
  if (bwrap === 'bwrap') probed = status;
  return status;
}

export type SandboxedRun = { exitCode: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean; cancelled: boolean };

/**
 * Runs `python script args` with `scratch` as the only writable directory (seen as /tmp inside).
 * `venvDir` and `runnerDir` are mounted read-only at fixed paths inside (VENV_MOUNT, RUNNER_MOUNT):
 * their host paths may lie under /tmp, which the scratch directory covers there. `python` and `args`
 * name host paths; inside the sandbox they are translated to the mounts (a venv finds its packages
 * from the path its interpreter was started by, so it works from anywhere).
 */
/** Where the venv and the runner appear inside the sandbox. */
export const VENV_MOUNT = '/opt/stagebook/venv';
export const RUNNER_MOUNT = '/opt/stagebook/runner';
/** Where the run's project's extra packages appear (server/python/project-layer.ts), read-only. */
export const PROJECT_LAYER_MOUNT = '/opt/stagebook/project';

export async function runSandboxedPython(opts: {
  mode: SandboxMode;
  python: string;
  venvDir: string;
  runnerDir: string;
  /** The run's project's extra packages (its layer), if it has any: on the path, read-only. */
  layerDir?: string | null;
  scratch: string;
  args: string[];
  limits: PythonLimits;
  signal?: AbortSignal;
  onOutput?: (line: string) => void;
  bwrap?: string;
}): Promise<SandboxedRun> {
  const sandboxed = opts.mode !== 'unsandboxed';
  const inside = (p: string): string => {
    if (!sandboxed) return p;
    for (const [host, mount] of [
      [opts.venvDir, VENV_MOUNT],
      [opts.runnerDir, RUNNER_MOUNT],
      ...(opts.layerDir ? [[opts.layerDir, PROJECT_LAYER_MOUNT] as const] : []),
    ] as const) {
      if (p === host || p.startsWith(`${host}/`)) return mount + p.slice(host.length);
    }
    return p;
  };
  const env = {
    HOME: '/tmp',
    PATH: '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    PYTHONPATH: [opts.runnerDir, ...(opts.layerDir ? [opts.layerDir] : [])].map(inside).join(':'),
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    MKL_NUM_THREADS: '1',
  };
  const limits = opts.limits;
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const rlimits = [
    `--as=${limits.memoryBytes}`,
    `--cpu=${limits.cpuSeconds}`,
    `--fsize=${limits.fileBytes}`,
    '--nofile=256',
    '--core=0',
    ...(asRoot ? [`--nproc=${limits.processes}`] : []),
  ];
  let full: string[];
  if (opts.mode === 'unsandboxed') {
    full = ['prlimit', ...rlimits, '--', opts.python, ...opts.args];
  } else {
    const bwrap = [
      '--unshare-all',
      '--die-with-parent',
      '--new-session',
      '--ro-bind',
      '/usr',
      '/usr',
      ...['bin', 'lib', 'lib64', 'sbin'].flatMap((d) => (existsSync(`/${d}`) ? ['--symlink', `usr/${d}`, `/${d}`] : [])),
      ...['/etc/ld.so.cache', '/etc/localtime', '/etc/ssl/certs'].flatMap((p) => (existsSync(p) ? ['--ro-bind', p, p] : [])),
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--ro-bind',
      opts.venvDir,
      VENV_MOUNT,
      '--ro-bind',
      opts.runnerDir,
      RUNNER_MOUNT,
      ...(opts.layerDir ? ['--ro-bind', opts.layerDir, PROJECT_LAYER_MOUNT] : []),
      '--bind',
      opts.scratch,
      '/tmp',
      // bwrap's own root is a writable tmpfs: make it read-only once everything is mounted.
      '--remount-ro',
      '/',
      '--chdir',
      '/tmp',
      '--clearenv',
      ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
      inside(opts.python),
      ...opts.args.map(inside),
    ];
    const inner = ['prlimit', ...rlimits, '--', opts.bwrap ?? 'bwrap', ...bwrap];
    full = asRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...inner] : inner;
  }
  const [command, ...argv] = full as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: opts.mode === 'unsandboxed' ? opts.scratch : '/',
      env: (opts.mode === 'unsandboxed' ? { ...env, HOME: opts.scratch, TMPDIR: opts.scratch } : { PATH: '/usr/bin:/bin' }) as unknown as NodeJS.ProcessEnv,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let cancelled = false;
    const keep = (s: string, more: string) => (s.length > 64_000 ? s : s + more);
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout = keep(stdout, d);
      if (!opts.onOutput) return;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) opts.onOutput(l);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = keep(stderr, d)));
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, limits.timeoutMs);
    const onAbort = () => {
      cancelled = true;
      kill();
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      kill(); // anything the cell left running in its group
      resolve({ exitCode, signal, stdout, stderr, timedOut, cancelled });
    });
  });
}

export const RUNNER_DIR = path.join(import.meta.dirname, '.');
