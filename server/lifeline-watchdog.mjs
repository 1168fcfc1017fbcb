/**
 * The watchdog behind server/lifeline.ts: a tiny Node process holding an IPC channel to Stagebook.
 * When that channel closes without a release (Stagebook died, even by SIGKILL, which runs no exit
 * handler), it stops the process it guards: the stop signal, then SIGKILL after the grace period.
 * Plain JavaScript so it starts without tsx (~40 ms).
 *
 *   lifeline-watchdog.mjs spawn <options json> <command> [args...]
 *
 * options: { stopSignal, graceMs, uid?, gid? } (uid/gid: the command runs as that user, as
 * Postgres must when Stagebook runs as root; the watchdog keeps root to signal it).
 *
 * The command stays in the watchdog's process group (Stagebook's, so a group-wide SIGKILL still
 * reaches it, unless Stagebook started the watchdog detached, in a group of its own) with the watchdog's stdout and stderr, which are Stagebook's pipes; the watchdog exits as the
 * command does (same code or signal) and forwards signals sent through the channel.
 */
import { spawn } from 'node:child_process';

const [mode, optionsJson, ...rest] = process.argv.slice(2);
const { stopSignal, graceMs, uid, gid } = JSON.parse(optionsJson);
let target = 0;
let child = null;
let stopping = false;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function signal(sig) {
  if (!target) return;
  try {
    process.kill(target, sig);
  } catch {
    // already gone
  }
}

function stopTarget() {
  if (stopping) return;
  stopping = true;
  if (!target || !alive(target)) process.exit(0);
  signal(stopSignal);
  const deadline = Date.now() + graceMs;
  const timer = setInterval(() => {
    if (!alive(target)) process.exit(0);
    if (Date.now() > deadline) {
      signal('SIGKILL');
      clearInterval(timer);
      setTimeout(() => process.exit(0), 100);
    }
  }, 50);
  // An exited child is a zombie until reaped, and kill(pid, 0) still finds it.
  if (child) child.once('exit', () => process.exit(0));
}

// Signals sent to the watchdog itself (a group-wide SIGTERM from a terminal or a supervisor) reach
// the command too, since it is in the same group; the watchdog waits for it rather than dying first.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, () => {});

process.on('message', (msg) => {
  if (msg && msg.release) {
    process.disconnect();
    process.exit(0);
  }
  if (msg && typeof msg.signal === 'string') signal(msg.signal);
});
process.on('disconnect', stopTarget);

if (mode === 'spawn') {
  const [command, ...args] = rest;
  const as = uid === undefined ? {} : { uid, gid };
  child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...as });
  child.once('error', (err) => {
    process.stderr.write(`could not run ${command}: ${err.message}\n`);
    process.exit(127);
  });
  child.once('spawn', () => {
    target = child.pid;
    process.send?.({ pid: target });
  });
  child.once('exit', (code, sig) => {
    if (stopping) return;
    process.removeAllListeners('disconnect');
    if (process.connected) process.disconnect();
    if (sig) {
      process.removeAllListeners(sig);
      process.kill(process.pid, sig);
    }
    process.exit(code ?? 1);
  });
} else {
  process.stderr.write(`lifeline-watchdog: unknown mode ${mode}\n`);
  process.exit(2);
}
