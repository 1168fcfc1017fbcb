/**
 * The embedded children (Temporal dev server, and the embedded Postgres) die with their parent even
 * when it is SIGKILLed, and the home stays locked to one running Stagebook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../e2e/server';

type ParentInfo = { parent: number; temporal: { pid: number; address: string }; postgres: { pid: number; address: string } };

const homes: string[] = [];
const started: ChildProcess[] = [];

afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

function newHome(): string {
  const home = mkdtempSync(path.join(tmpdir(), 'sb-lifeline-'));
  // As root the embedded server runs as `postgres`, which must be able to pass through.
  chmodSync(home, 0o711);
  homes.push(home);
  return home;
}

function childEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STAGEBOOK_HOME: home, NEXT_TELEMETRY_DISABLED: '1', STAGEBOOK_DEMO: '0', PORT: '0', HOST: '127.0.0.1' };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  return env;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie has exited; only its parent has not reaped it yet.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitFor(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t0;
}

function refused(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = net.connect(Number(port), host!);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** `detached`: the parent leads a process group of its own (as a shell's foreground job) and starts its children detached. */
async function startParent(home: string, opts: { detached?: boolean } = {}): Promise<{ child: ChildProcess; info: ParentInfo; output: () => string }> {
  const args = ['--import', 'tsx', 'tests/helpers/lifeline-parent.ts', ...(opts.detached ? ['--detached'] : [])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: childEnv(home), stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await waitFor('the parent reports its children', () => /^\{.*\}$/m.test(out) || child.exitCode !== null, 90_000);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`the parent exited: ${out}`);
  return { child, info: JSON.parse(line) as ParentInfo, output: () => out };
}

function runCli(home: string, args: string[]): Promise<{ code: number | null; output: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['server/launch.mjs', ...args], { cwd: repoRoot, env: childEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output, ms: Date.now() - t0 })));
}

describe('lifelines', () => {
  it('a SIGKILLed parent takes its Temporal dev server and embedded Postgres with it, freeing their ports, and the next start takes over the lock', async () => {
    const home = newHome();
    const { child, info } = await startParent(home);
    for (const c of [info.temporal, info.postgres]) {
      expect(c.pid).not.toBe(info.parent);
      expect(alive(c.pid)).toBe(true);
      expect(await refused(c.address)).toBe(false);
    }

    // Only the parent: the children are left to their lifeline, as after an OOM kill.
    process.kill(info.parent, 'SIGKILL');
    await waitFor('parent gone', () => child.exitCode !== null || child.signalCode !== null, 10_000);
    const ms = await waitFor('the Temporal dev server exits after its parent was SIGKILLed', () => !alive(info.temporal.pid), 15_000);
    const pgMs = await waitFor('the embedded Postgres exits after its parent was SIGKILLed', () => !alive(info.postgres.pid), 30_000);
    console.log(`after the parent's SIGKILL: temporal dev server gone in ${ms} ms, embedded postgres in ${pgMs} ms more`);
    expect(await refused(info.temporal.address)).toBe(true);
    expect(await refused(info.postgres.address)).toBe(true);
    // A clean (fast) shutdown, not a crash: the server removed its own pid file.
    expect(existsSync(path.join(home, 'pg', 'data', 'postmaster.pid'))).toBe(false);

    // The dead parent's lock is stale: the next command on the home takes it over and releases it.
    expect(existsSync(path.join(home, 'stagebook.pid'))).toBe(true);
    const migrate = await runCli(home, ['migrate']);
    expect(migrate.output).toMatch(/migrations applied/);
    expect(migrate.code).toBe(0);
    expect(existsSync(path.join(home, 'stagebook.pid'))).toBe(false);
  }, 180_000);

  it('a second start on a home in use is refused at once, naming the running pid; the running one is untouched', async () => {
    const home = newHome();
    const { child, info } = await startParent(home);
    const second = await runCli(home, ['start']);
    expect(second.code).toBe(1);
    expect(second.output).toContain(`another Stagebook (pid ${info.parent}) is running on STAGEBOOK_HOME ${home}`);
    // At once: before any database, Temporal or web build work (tsx start-up alone is ~1-3 s here).
    expect(second.ms).toBeLessThan(20_000);
    expect(second.output).not.toMatch(/temporal dev server|migrations|building the web app/);
    expect(alive(info.parent)).toBe(true);
    expect(alive(info.temporal.pid)).toBe(true);
    expect(child.exitCode).toBeNull();

    expect(alive(info.postgres.pid)).toBe(true);

    process.kill(info.parent, 'SIGKILL');
    await waitFor('the Temporal dev server exits', () => !alive(info.temporal.pid), 15_000);
    await waitFor('the embedded Postgres exits', () => !alive(info.postgres.pid), 30_000);
  }, 180_000);

  it('children started detached (npm run cluster:local) are out of the parent\'s process group: a Ctrl+C reaches only the parent, and they still die with it', async () => {
    const home = newHome();
    const { child, info, output } = await startParent(home, { detached: true });
    // What a terminal's Ctrl+C does: SIGINT to every process of the foreground job's group.
    process.kill(-info.parent, 'SIGINT');
    await waitFor('the parent got the SIGINT', () => output().includes('parent: SIGINT'), 10_000);
    // In the parent's group, Postgres (fast shutdown) and Temporal would stop on it within this.
    await new Promise((r) => setTimeout(r, 2_000));
    for (const c of [info.temporal, info.postgres]) {
      expect(alive(c.pid)).toBe(true);
      expect(await refused(c.address)).toBe(false);
    }
    expect(child.exitCode).toBeNull();
    // Out of the group, the lifeline still holds: the parent's SIGKILL stops both.
    process.kill(info.parent, 'SIGKILL');
    await waitFor('the Temporal dev server exits', () => !alive(info.temporal.pid), 15_000);
    await waitFor('the embedded Postgres exits', () => !alive(info.postgres.pid), 30_000);
  }, 180_000);
});
