/**
 * `npm run cluster:local`: the scale-out topology on one machine, for a person to try it (the same
 * one tests/integration/cluster.test.ts starts): 2 web, 1 api and 2 worker processes, each its own
 * `server/cli.ts start --role ...`, on one Postgres and one Temporal dev server. Postgres is
 * DATABASE_URL when set, else an embedded server in `<home>/pg`; Temporal is a dev server with its
 * state in `<home>/temporal.sqlite`. `-- --home=DIR` (default `.stagebook-cluster`), `-- --port=N`
 * (default 4000): web N and N+1, api N+2, workers N+3 and N+4; metrics on N+5400 to N+5404.
 * Ctrl+C stops all, in order: every child runs in a process group of its own, so the terminal's
 * SIGINT reaches only this supervisor, which stops the web, api and worker processes first (SIGTERM:
 * they flush queued collaboration edits and finish activities), then Temporal, then Postgres. A
 * second Ctrl+C stops at once. Each child runs under a lifeline (server/lifeline.ts): if this
 * process dies, however it dies, they are stopped too.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openDatabase } from '@/db/client';
import { findTemporalCli, startTemporalDevServer } from '@/workflows/dev-server';
import { startEmbeddedPostgres } from '../embedded-postgres';
import { childProcessEnv, loadEnv } from '../env';
import { spawnWithLifeline, type LifelineChild } from '../lifeline';
import { nextBuildIsStale, runNextBuild } from '../next-app';

const root = path.resolve(import.meta.dirname, '../..');
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const home = path.resolve(arg('home') ?? '.stagebook-cluster');
const basePort = Number(arg('port') ?? 4000);
const env = loadEnv();
const roles = ['web', 'web', 'api', 'worker', 'worker'] as const;
/** How long a role may take to stop (its own shutdown waits for requests, flushes and activities). */
const ROLE_STOP_MS = 30_000;

type Child = { name: string; child: ChildProcess; lifeline: LifelineChild; exited: Promise<void> };

function startRole(i: number, childEnv: NodeJS.ProcessEnv): Child {
  const role = roles[i]!;
  const name = `${role}-${i + 1}`;
  const dir = path.join(home, name);
  mkdirSync(dir, { recursive: true });
  const lifeline = spawnWithLifeline(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'start', '--role', role], {
    cwd: root,
    env: { ...childEnv, PORT: String(basePort + i), METRICS_PORT: String(basePort + 5400 + i), STAGEBOOK_HOME: dir },
    detached: true,
    graceMs: ROLE_STOP_MS,
  });
  // The watchdog: its output and its exit are the role's.
  const child = lifeline.process;
  const prefix = (chunk: Buffer) => chunk.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => `[${name}] ${l}`).join('\n') + '\n';
  child.stdout!.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
  child.stderr!.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { name, child, lifeline, exited };
}

const running = (c: Child) => c.child.exitCode === null && c.child.signalCode === null;

/** SIGTERM to each role, SIGKILL to those still running after ROLE_STOP_MS; resolves when all have exited. */
async function stopRoles(children: Child[], log: (line: string) => void): Promise<void> {
  for (const c of children) if (running(c)) c.lifeline.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children.filter(running)) {
      log(`${c.name} did not stop within ${ROLE_STOP_MS / 1000} s: SIGKILL`);
      c.lifeline.kill('SIGKILL');
    }
  }, ROLE_STOP_MS);
  await Promise.all(children.map((c) => c.exited));
  clearTimeout(timer);
}

async function main(): Promise<void> {
  mkdirSync(home, { recursive: true });
  const log = (line: string) => console.log(`[cluster] ${line}`);
  const postgres = env.DATABASE_URL ? null : await startEmbeddedPostgres({ dataDir: path.join(home, 'pg'), log, detached: true });
  const databaseUrl = env.DATABASE_URL ?? postgres!.url;
  const temporal = await startTemporalDevServer({ cliPath: findTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH }), dbFile: path.join(home, 'temporal.sqlite'), log, detached: true });
  // Migrate once here, so the five processes do not all migrate at once.
  const database = await openDatabase({ url: databaseUrl, poolSize: 1 });
  await database.migrate();
  await database.close();

  // Once here: each web process would otherwise run its own `next build`, both in this directory.
  if (nextBuildIsStale(root)) {
    log('building the web app (next build) once for both web processes ...');
    await runNextBuild(root);
  }
  const childEnv = childProcessEnv({ DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporal.address, STAGEBOOK_COLLAB_RELAY: 'postgres', HOST: '127.0.0.1' });
  const children = roles.map((_, i) => startRole(i, childEnv));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping: web, api and worker processes first (Ctrl+C again to stop at once) ...');
    await stopRoles(children, log);
    log('roles stopped; stopping Temporal ...');
    await temporal.stop();
    if (postgres) log('stopping Postgres ...');
    await postgres?.stop();
    log('stopped');
    process.exit(0);
  };
  // One Ctrl+C can arrive more than once: the terminal signals npm, tsx and this process, and npm
  // and tsx pass it on. Repeats within a second are that; a later one stops at once (exit: the
  // lifelines then stop every child, Postgres with its fast shutdown). `on`, not `once`: with no
  // listener left, tsx's own handler would end this process on the repeat.
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      firstSignalAt = Date.now();
      void stop();
    } else if (Date.now() - firstSignalAt > 1_000) {
      log(`${signal} again: stopping at once`);
      process.exit(130);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  for (const c of children) void c.exited.then(() => !stopping && log(`${c.name} exited (code ${c.child.exitCode}, signal ${c.child.signalCode})`));

  await Promise.all(roles.map((_, i) => waitHealthy(basePort + i)));
  log(`ready. Temporal ${temporal.address}${temporal.uiUrl ? ` (UI ${temporal.uiUrl})` : ''}, Postgres ${postgres ? `embedded in ${path.join(home, 'pg')}` : 'DATABASE_URL'}`);
  roles.forEach((role, i) => log(`  ${role.padEnd(6)} http://127.0.0.1:${basePort + i}   metrics http://127.0.0.1:${basePort + 5400 + i}/metrics`));
  log(`on a new database one web process prints the first admin above (and saves it in ${home}/web-N/initial-admin.txt). Ctrl+C stops all.`);
}

async function waitHealthy(port: number): Promise<void> {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

main().catch((err: unknown) => {
  console.error('[cluster] failed:', err);
  process.exit(1);
});
