/**
 * Crash safety, measured: the real server (embedded PostgreSQL + Temporal dev server + web) is
 * SIGKILLed as a whole process group at seeded random moments while clients upload datasets, append
 * rows over REST and create teams. After every kill: the next start comes up on the same home, the
 * audit chain verifies, every write acknowledged before the kill is there, and no dataset is
 * half-loaded (its table holds exactly the rows its metadata counts).
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '@/db/client';
import { seededRandom } from '@/server/ml/random';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from '../e2e/server';

const KILLS = 20;
const UPLOAD_ROWS = 300;
const rng = seededRandom(20261207);

let server: ServerChild | undefined;
let home: string;
let cookie: string;
let projectId: string;

/** What the server acknowledged (2xx) before a kill: all of it must survive. */
const acked = { appends: new Set<number>(), uploads: new Set<string>(), teams: new Set<string>() };

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The embedded server's superuser URL, from the home (the server runs while we check). */
function embeddedUrl(): string {
  const password = readFileSync(`${home}/pg/password`, 'utf8').trim();
  const port = readFileSync(`${home}/pg/port`, 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/stagebook`;
}

async function startOnHome(): Promise<ServerChild> {
  return startServer({ home, keepHome: true, readyTimeoutMs: 120_000 });
}

beforeAll(async () => {
  ensureNextBuild();
  server = await startServer({ keepHome: true, readyTimeoutMs: 180_000 });
  home = server.home;
  const res = await fetch(`${server.baseUrl}/trpc/auth.signUp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ json: { email: 'crash@example.com', name: 'Crash', password: 'correct horse battery' } }),
  });
  cookie = res.headers.getSetCookie().find((c) => c.startsWith('sb_session='))!.split(';')[0]!;
  const team = (await trpcMutation(server.baseUrl, 'teams.create', { name: 'Crash' }, cookie)) as { id: string };
  projectId = ((await trpcMutation(server.baseUrl, 'projects.create', { teamId: team.id, name: 'Crash' }, cookie)) as { id: string }).id;
  const created = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets?name=events&types=id:integer,cycle:integer`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'text/csv' },
    body: 'id,cycle\n0,0\n',
  });
  if (!created.ok) throw new Error(`creating the events dataset: ${created.status} ${await created.text()}`);
  acked.appends.add(0);
}, 600_000);

afterAll(async () => {
  if (server) await server.stop(30_000).catch(() => undefined);
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Clients writing until `stop` resolves; each loop records only what the server acknowledged. */
async function workload(s: ServerChild, cycle: number, stop: Promise<void>): Promise<void> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  let nextId = cycle * 100_000 + 1;
  const appender = async () => {
    while (!stopped) {
      const id = nextId++;
      const r = await fetch(`${s.baseUrl}/api/v1/projects/${projectId}/datasets/events/rows`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json' },
        body: JSON.stringify({ rows: [{ id, cycle }] }),
      }).catch(() => null);
      if (r?.ok) acked.appends.add(id);
    }
  };
  const uploader = async () => {
    for (let n = 0; !stopped; n++) {
      const name = `upload_${cycle}_${n}`;
      const csv = `k,v\n${Array.from({ length: UPLOAD_ROWS }, (_, i) => `${i},${cycle * 1000 + n}`).join('\n')}\n`;
      const r = await fetch(`${s.baseUrl}/api/v1/projects/${projectId}/datasets?name=${name}`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: csv }).catch(() => null);
      if (r?.ok) acked.uploads.add(name);
    }
  };
  const teams = async () => {
    for (let n = 0; !stopped; n++) {
      const name = `team ${cycle}.${n}`;
      const ok = await trpcMutation(s.baseUrl, 'teams.create', { name }, cookie).then(
        () => true,
        () => false,
      );
      if (ok) acked.teams.add(name);
    }
  };
  await Promise.all([appender(), uploader(), teams()]);
}

/** Everything acknowledged is there; no dataset is half-loaded; the chain verifies. */
async function checkInvariants(): Promise<void> {
  const d = await openDatabase({ url: embeddedUrl(), poolSize: 2 });
  try {
    const chain = await verifyAuditChain(d.db);
    expect(chain.ok, JSON.stringify(chain)).toBe(true);
    const schema = `p_${projectId.replace(/-/g, '')}_design`;
    const ids = new Set((await d.query(`select id from "${schema}"."events"`)).map((r) => Number(r.id)));
    const lost = [...acked.appends].filter((id) => !ids.has(id));
    expect(lost, 'acknowledged appends missing after the restart').toEqual([]);
    const datasets = await d.query(`select name, row_count from datasets where project_id = $1 and environment = 'design'`, [projectId]);
    const names = new Set(datasets.map((r) => String(r.name)));
    expect([...acked.uploads].filter((n) => !names.has(n)), 'acknowledged uploads missing').toEqual([]);
    for (const row of datasets) {
      const [{ n } = { n: -1 }] = await d.query(`select count(*)::int as n from "${schema}"."${String(row.name)}"`);
      expect(Number(n), `dataset ${String(row.name)}: table rows vs metadata row count`).toBe(Number(row.row_count));
      if (String(row.name).startsWith('upload_')) expect(Number(n), `upload ${String(row.name)} is whole`).toBe(UPLOAD_ROWS);
    }
    const teamNames = new Set((await d.query('select name from teams')).map((r) => String(r.name)));
    expect([...acked.teams].filter((n) => !teamNames.has(n)), 'acknowledged teams missing').toEqual([]);
  } finally {
    await d.close();
  }
}

describe('crash safety', () => {
  it(`${KILLS} SIGKILLs of the whole server during writes lose nothing acknowledged and half-load nothing`, async () => {
    const t0 = Date.now();
    const restarts: number[] = [];
    for (let cycle = 1; cycle <= KILLS; cycle++) {
      const s = server!;
      const delay = 200 + rng.int(2_300);
      let fire!: () => void;
      const killed = new Promise<void>((r) => (fire = r));
      const writing = workload(s, cycle, killed);
      await new Promise((r) => setTimeout(r, delay));
      process.kill(-s.pid, 'SIGKILL');
      fire();
      await writing;
      const deadline = Date.now() + 30_000;
      while (groupAlive(s.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(groupAlive(s.pid), `cycle ${cycle}: the process group is gone`).toBe(false);
      await s.stop().catch(() => undefined);
      const r0 = Date.now();
      server = await startOnHome();
      restarts.push(Date.now() - r0);
      await checkInvariants();
    }
    const total = (Date.now() - t0) / 1000;
    restarts.sort((a, b) => a - b);
    console.log(
      `${KILLS} kills in ${total.toFixed(0)} s; restart to healthy p50 ${restarts[Math.floor(KILLS / 2)]} ms, max ${restarts[KILLS - 1]} ms; ` +
        `acknowledged and kept: ${acked.appends.size} appends, ${acked.uploads.size} uploads, ${acked.teams.size} teams`,
    );
    expect(acked.appends.size).toBeGreaterThan(KILLS);
  }, 900_000);
});
