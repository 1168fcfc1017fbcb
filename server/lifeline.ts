import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Child processes that must die with Stagebook even when Stagebook is SIGKILLed (the embedded
 * Postgres and Temporal dev server: an orphan would hold their port, data directory and lock when
 * Stagebook restarts). Linux's PR_SET_PDEATHSIG is not reachable from Node, and exit handlers do
 * not run on SIGKILL, so each child gets a watchdog process holding an IPC channel to us: the kernel
 * closes that channel when we die, however we die, and the watchdog then stops the child.
 */
const WATCHDOG = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lifeline-watchdog.mjs');

export type LifelineOptions = {
  /** What stops the child cleanly when Stagebook is gone (Postgres: SIGINT, its fast shutdown). Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** How long the child may take to stop before SIGKILL. Default 5 s. */
  graceMs?: number;
};

export type SpawnLifelineOptions = LifelineOptions & {
  /** Run the child as this user (Postgres refuses root). */
  uid?: number | undefined;
  gid?: number | undefined;
  /** The child's environment (the watchdog's too). Default: this process's. */
  env?: NodeJS.ProcessEnv | undefined;
  /** The child's working directory (the watchdog's too). Default: this process's. */
  cwd?: string | undefined;
  /**
   * Watchdog and child in a process group of their own, so a terminal's Ctrl+C (SIGINT to its
   * foreground group) does not reach them and the caller stops them in its own order (`npm run
   * cluster:local`). Default false: they share Stagebook's group.
   */
  detached?: boolean | undefined;
};

export type LifelineChild = {
  /** The watchdog: its stdout/stderr are the child's, its exit is the child's (code or signal). */
  process: ChildProcess;
  /** The child's own pid, once it has started. */
  pid: Promise<number>;
  /** Sends a signal to the child (not to the watchdog, which could not pass on a SIGKILL). */
  kill: (signal: NodeJS.Signals) => void;
};

type WatchdogSpawn = { env?: NodeJS.ProcessEnv | undefined; cwd?: string | undefined; detached?: boolean | undefined };

function startWatchdog(args: string[], stdio: 'pipe' | 'ignore', opts: WatchdogSpawn = {}): { process: ChildProcess; pid: Promise<number> } {
  const watchdog = spawn(process.execPath, [WATCHDOG, ...args], {
    stdio: ['ignore', stdio, stdio, 'ipc'],
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.detached ? { detached: true } : {}),
  });
  const pid = new Promise<number>((resolve, reject) => {
    watchdog.once('message', (msg: { pid?: number }) => (msg.pid ? resolve(msg.pid) : reject(new Error('watchdog reported no pid'))));
    watchdog.once('exit', (code) => reject(new Error(`the child exited before it started (code ${code})`)));
    watchdog.once('error', reject);
  });
  pid.catch(() => {});
  // The channel must not keep Stagebook's event loop alive; it only has to exist.
  watchdog.channel?.unref();
  return { process: watchdog, pid };
}

/** Runs `command` under a watchdog: like spawn(), but the child cannot outlive this process. */
export function spawnWithLifeline(command: string, args: string[], opts: SpawnLifelineOptions = {}): LifelineChild {
  const options = { stopSignal: opts.stopSignal ?? 'SIGTERM', graceMs: opts.graceMs ?? 5_000, uid: opts.uid, gid: opts.gid };
  const { process: watchdog, pid } = startWatchdog(['spawn', JSON.stringify(options), command, ...args], 'pipe', { env: opts.env, cwd: opts.cwd, detached: opts.detached });
  return {
    process: watchdog,
    pid,
    kill: (signal) => {
      if (watchdog.connected) watchdog.send({ signal });
      // No channel: the watchdog is stopping the child already, or both have exited.
    },
  };
}
