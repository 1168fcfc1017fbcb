import { linkSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * One Stagebook process at a time owns a STAGEBOOK_HOME: its embedded Postgres data directory,
 * Temporal state and first-admin file. Two would corrupt them, so a second start is refused at once,
 * naming the running pid. The lock file holds `<pid> <start time>`: a pid alone can be reused after a
 * crash by an unrelated process, which would make a stale lock look alive forever.
 */
export const LOCK_FILE = 'stagebook.pid';

export type HomeLock = { file: string; release: () => void };

export class HomeLocked extends Error {
  constructor(
    readonly home: string,
    readonly pid: number,
  ) {
    super(`another Stagebook (pid ${pid}) is running on STAGEBOOK_HOME ${home}; stop it first (kill ${pid}) or use another STAGEBOOK_HOME`);
    this.name = 'HomeLocked';
  }
}

/** The kernel's start time of a process (clock ticks since boot), or null where /proc has no such pid. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number, startTime: string | undefined): boolean {
  if (process.platform === 'linux') {
    const now = processStartTime(pid);
    return now !== null && (startTime === undefined || now === startTime);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(file: string): { pid: number; startTime: string | undefined } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const [pidText, startTime] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  // A lock cut short by a crash mid-write holds no live owner.
  return Number.isInteger(pid) && pid > 0 ? { pid, startTime } : { pid: 0, startTime: undefined };
}

/**
 * Takes the home's lock for this process or throws HomeLocked. A lock left by a dead process is
 * taken over. Creation is atomic (link(2) of a complete file fails if the lock exists), so two
 * starts racing for a free home cannot both win.
 */
export function acquireHomeLock(home: string): HomeLock {
  mkdirSync(home, { recursive: true });
  const file = path.join(home, LOCK_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw err;
      }
      const holder = readLock(file);
      if (!holder) continue;
      if (holder.pid === process.pid) break;
      if (holder.pid > 0 && isAlive(holder.pid, holder.startTime)) throw new HomeLocked(home, holder.pid);
      rmSync(file, { force: true });
    }
  } finally {
    unlinkSync(tmp);
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    // Only our own lock: never remove one a later owner took over.
    if (readLock(file)?.pid === process.pid) rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { file, release };
}
