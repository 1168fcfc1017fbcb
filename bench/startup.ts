/**
 * Seconds from `stagebook start` (`node server/launch.mjs start`, what `npm start` runs) to a healthy
 * /api/health, cold (empty STAGEBOOK_HOME or database) and warm (restart on the same state), on the
 * embedded PostgreSQL server (cold includes initdb) and on the Postgres server at 127.0.0.1:5432
 * (cold: a fresh database); baseline: a bare Node HTTP server spawned the same way in the same run.
 * Issue 12's aim: warm start on the embedded server within 5 s. For comparison, a warm start through
 * tsx (`node --import tsx server/cli.ts start`, the start before the compiled server). Beside each
 * warm time, the CPU seconds the Stagebook process itself used until healthy (less sensitive to the
 * machine's load than the wall clock). The demo seed is off: it runs after readiness anyway.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../db/client';
import { startEmbeddedPostgres } from '../server/embedded-postgres';
import { createPostgresDatabase } from '../tests/helpers/db';
import { nextBuildIsStale, repoRoot, runNextBuild } from '../server/next-app';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** CPU seconds (user + system) a live process has used, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return NaN;
  }
}

type Timed = { seconds: number; cpu: number; child: ChildProcess };

async function timeToHealthy(args: string[], env: Record<string, string>, port: number, pathname: string): Promise<Timed> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      // Bounded: on a busy machine another process may take the port first and never answer HTTP.
      const res = await fetch(`http://127.0.0.1:${port}${pathname}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return { seconds: (performance.now() - t0) / 1000, cpu: cpuSeconds(child.pid), child };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The database part alone, in this process: server up (embedded) or reachable, pool open, migrations applied. */
async function databaseOnly(): Promise<{ setup: string; cold: number; warm: number }[]> {
  const since = (t0: number) => (performance.now() - t0) / 1000;
  const home = mkdtempSync(path.join(tmpdir(), 'sb-bench-db-'));
  chmodSync(home, 0o711);
  const embedded = { setup: 'embedded PG (initdb when cold)', cold: 0, warm: 0 };
  try {
    for (const phase of ['cold', 'warm'] as const) {
      const t0 = performance.now();
      const server = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg') });
      const d = await openDatabase({ url: server.url });
      await d.migrate();
      embedded[phase] = since(t0);
      await d.close();
      await server.stop();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  const server = { setup: 'Postgres server (new database)', cold: 0, warm: 0 };
  const db = await createPostgresDatabase();
  try {
    for (const phase of ['cold', 'warm'] as const) {
      const t0 = performance.now();
      const d = await openDatabase({ url: db.url });
      await d.migrate();
      server[phase] = since(t0);
      await d.close();
    }
  } finally {
    await db.drop();
  }
  return [embedded, server];
}

async function main() {
  const dbRows = await databaseOnly();
  console.log('\nstartup, database only: seconds to a migrated pool (in process)');
  for (const r of dbRows) console.log(`${r.setup.padEnd(33)} cold ${r.cold.toFixed(2).padStart(6)} s   warm ${r.warm.toFixed(2).padStart(6)} s`);
  const [e, p] = dbRows;
  if (e && p) console.log(`embedded / Postgres server: cold ${(e.cold / p.cold).toFixed(2)}x, warm ${(e.warm / p.warm).toFixed(2)}x`);

  if (nextBuildIsStale()) await runNextBuild();
  const baselinePort = await freePort();
  const bare = await timeToHealthy(['-e', `require('http').createServer((q,s)=>s.end('ok')).listen(${baselinePort})`], {}, baselinePort, '/');
  await stop(bare.child);
  type Row = { setup: string; cold: number; warm: number; warmCpu: number };
  const rows: Row[] = [];
  const launch = ['server/launch.mjs', 'start'];
  const tsx = ['--import', 'tsx', 'server/cli.ts', 'start'];
  /** A cold start, then a warm one on the same state (then, given `also`, a warm start with that command). */
  async function coldAndWarm(env: Record<string, string>, also?: string[]): Promise<{ cold: Timed; warm: Timed; other?: Timed }> {
    const cold = await timeToHealthy(launch, env, await freePort(), '/api/health');
    await stop(cold.child);
    const warm = await timeToHealthy(launch, env, await freePort(), '/api/health');
    await stop(warm.child);
    if (!also) return { cold, warm };
    const other = await timeToHealthy(also, env, await freePort(), '/api/health');
    await stop(other.child);
    return { cold, warm, other };
  }
  // Compiled here, so the first start below is cold for the database, not for the compile (postinstall compiles).
  execFileSync(process.execPath, ['server/launch.mjs', '--compile'], { cwd: repoRoot, stdio: 'ignore' });

  const home = mkdtempSync(path.join(tmpdir(), 'sb-bench-'));
  // As root the embedded server runs as the `postgres` user, which must pass through the home.
  chmodSync(home, 0o711);
  try {
    const env = { STAGEBOOK_HOME: home, LOG_LEVEL: 'warn', STAGEBOOK_DEMO: '0' };
    const r = await coldAndWarm(env, tsx);
    rows.push({ setup: 'embedded PG + Temporal dev server', cold: r.cold.seconds, warm: r.warm.seconds, warmCpu: r.warm.cpu });
    if (r.other) rows.push({ setup: '  same, warm, through tsx', cold: NaN, warm: r.other.seconds, warmCpu: r.other.cpu });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }

  const pgHome = mkdtempSync(path.join(tmpdir(), 'sb-bench-'));
  const db = await createPostgresDatabase();
  try {
    const env = { STAGEBOOK_HOME: pgHome, DATABASE_URL: db.url, LOG_LEVEL: 'warn', STAGEBOOK_DEMO: '0' };
    const r = await coldAndWarm(env);
    rows.push({ setup: 'Postgres + Temporal dev server', cold: r.cold.seconds, warm: r.warm.seconds, warmCpu: r.warm.cpu });
  } finally {
    await db.drop();
    rmSync(pgHome, { recursive: true, force: true });
  }

  const f = (n: number, w: number) => (Number.isFinite(n) ? n.toFixed(2) : '-').padStart(w);
  console.log(`\nstartup: seconds from spawn to healthy /api/health (baseline: bare node http server ${bare.seconds.toFixed(2)} s; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  console.log('setup                             cold s   warm s   warm CPU s   cold/baseline   warm/baseline');
  for (const r of rows) {
    const ratio = (v: number) => (Number.isFinite(v) ? `${(v / bare.seconds).toFixed(1)}x` : '-').padStart(13);
    console.log(`${r.setup.padEnd(33)} ${f(r.cold, 6)}   ${f(r.warm, 6)}   ${f(r.warmCpu, 10)}   ${ratio(r.cold)}   ${ratio(r.warm)}`);
  }
  const embedded = rows[0];
  const server = rows.find((r) => r.setup.startsWith('Postgres'));
  if (embedded && server) {
    console.log(`embedded / Postgres server: cold ${(embedded.cold / server.cold).toFixed(2)}x, warm ${(embedded.warm / server.warm).toFixed(2)}x`);
  }
  if (embedded) console.log(`aim (issue 12): warm start on the embedded server <= 5 s: ${embedded.warm.toFixed(2)} s, ${embedded.warm <= 5 ? 'pass' : 'miss'}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
