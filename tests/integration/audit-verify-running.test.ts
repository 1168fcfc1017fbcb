/**
 * `stagebook audit-verify` on the home of a running Stagebook: the home lock refuses a second
 * postmaster on the data directory, so the command connects to the one already running (the home's
 * `pg/port` and `pg/password`) instead of being refused. Here this test process plays the running
 * Stagebook: it holds the home lock and runs the embedded server through the product's own code.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@/db/client';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@/server/embedded-postgres';
import { acquireHomeLock, type HomeLock } from '@/server/home-lock';
import { callerFor, newUser } from '../helpers/api';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');

let home: string;
let server: EmbeddedPostgres;
let database: Database | undefined;
let lock: HomeLock;
let projectsCreated = 0;

async function auditVerify(): Promise<{ code: number; out: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, STAGEBOOK_HOME: home };
  delete env.DATABASE_URL;
  return run(process.execPath, ['server/launch.mjs', 'audit-verify'], { cwd: root, env, timeout: 120_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'sb-audit-running-'));
  // As root the embedded server runs as the `postgres` user, which must pass through the home.
  chmodSync(home, 0o711);
  lock = acquireHomeLock(home);
  server = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg') });
  database = await openDatabase({ url: server.url, driver: 'embedded', poolSize: 3 });
  await database.migrate();
  const admin = await newUser(database.db, 'running-auditor');
  const a = callerFor(database.db, admin);
  const team = await a.teams.create({ name: 'Running' });
  for (; projectsCreated < 3; projectsCreated++) await a.projects.create({ teamId: team.id, name: `p${projectsCreated}` });
}, 120_000);

afterAll(async () => {
  await database?.close();
  await server?.stop();
  lock?.release();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('audit-verify while Stagebook runs on the same embedded home', () => {
  it('verifies through the running embedded server instead of being refused by the home lock', async () => {
    const events = Number((await database!.query('select count(*)::int as n from audit_events'))[0]!.n);
    // Sign-up, team, and one per project at least: the chain really holds what was written.
    expect(events).toBeGreaterThanOrEqual(2 + projectsCreated);
    const r = await auditVerify();
    expect(r.out).not.toMatch(/another Stagebook/);
    expect(r.out).toContain(`Stagebook (pid ${process.pid}) is running`);
    expect(r.out).toContain(`audit chain intact: ${events} events`);
    expect(r.code).toBe(0);
  }, 150_000);

  it('sees what the running server holds: an event altered behind the trigger is named', async () => {
    const [{ seq } = { seq: 0 }] = await database!.query('select seq from audit_events order by seq offset 1 limit 1');
    await database!.query('alter table audit_events disable trigger audit_events_no_update_delete');
    await database!.query(`update audit_events set details = '{"name":"forged"}'::jsonb where seq = $1`, [seq]);
    await database!.query('alter table audit_events enable trigger audit_events_no_update_delete');
    const r = await auditVerify();
    expect(r.code).toBe(1);
    expect(r.out).toContain(`audit chain BROKEN at event seq=${Number(seq)}`);
  }, 150_000);

  it('says the running server does not answer, in one line, when the lock holder has it stopped', async () => {
    await database!.close();
    database = undefined;
    await server.stop();
    const r = await auditVerify();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`Stagebook \\(pid ${process.pid}\\) holds .* but its embedded server does not answer: .*127\\.0\\.0\\.1`));
    // It must not have started a postmaster of its own on the locked data directory.
    expect(r.out).not.toMatch(/audit chain intact/);
  }, 150_000);
});
