/**
 * A home made by the previous version (PGlite on disk, commit a60c717, through that version's own
 * services) is copied by migrate-home into a Postgres server: users, teams, projects, datasets with
 * their rows in both environments, the audit chain, the migration records and the per-project roles.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@/db/client';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { signIn } from '@/server/services/auth/sign-in';
import type { UserId } from '@/server/services/context';
import { closeSandboxPools, runSandboxedSelect } from '@/server/services/datasets/sql-sandbox';
import { legacyPgliteDir, migrateHome } from '@/server/ops/migrate-home';
import { callerFor, ctxFor } from '../helpers/api';
import { createPostgresDatabase, POSTGRES_ADMIN_URL } from '../helpers/db';

const PREVIOUS_VERSION = 'a60c717';
const repoRoot = path.resolve(import.meta.dirname, '../..');
const CSV = 'id,status,amount\n1,good,100.25\n2,bad,\n3,"odd, ""quoted""",7\n';
const EXPECTED = [
  { id: 1, status: 'good', amount: 100.25 },
  { id: 2, status: 'bad', amount: null },
  { id: 3, status: 'odd, "quoted"', amount: 7 },
];

type Made = { email: string; userId: string; teamId: string; projectId: string; auditEvents: number };

let scratch: string;
let home: string;
let made: Made;
let target: { url: string; drop: () => Promise<void> };
let db: Database;
let result: Awaited<ReturnType<typeof migrateHome>>;
let chainAfterMove: Awaited<ReturnType<typeof verifyAuditChain>>;
let tree: string;
let csvFile: string;

/** A checkout of the previous version's code, running on this checkout's node_modules. */
function previousVersionTree(dir: string): string {
  const tree = path.join(dir, 'previous');
  mkdirSync(tree);
  const archive = execFileSync('git', ['archive', PREVIOUS_VERSION, 'db', 'server', 'workflows', 'tests/helpers', 'tsconfig.json', 'package.json'], { cwd: repoRoot, maxBuffer: 256 * 1024 * 1024 });
  execFileSync('tar', ['-x', '-C', tree], { input: archive });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(tree, 'node_modules'));
  mkdirSync(path.join(tree, 'tests/fixtures'), { recursive: true });
  writeFileSync(path.join(tree, 'tests/fixtures/previous-version-home.ts'), readFileSync(path.join(repoRoot, 'tests/fixtures/previous-version-home.ts')));
  return tree;
}

function makePreviousVersionHome(dir: string): Made {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tests/fixtures/previous-version-home.ts', dir, csvFile], { cwd: tree, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the previous version could not make its home:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Made;
}

function cli(args: string[], stagebookHome: string): Promise<{ code: number | null; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, STAGEBOOK_HOME: stagebookHome, STAGEBOOK_DEMO: '0', PORT: '0', HOST: '127.0.0.1' };
  delete env.DATABASE_URL;
  delete env.TEMPORAL_ADDRESS;
  const child = spawn(process.execPath, ['server/launch.mjs', ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'sb-migrate-home-'));
  home = path.join(scratch, 'home');
  // As root the embedded server runs as `postgres`, which must be able to pass through.
  chmodSync(scratch, 0o711);
  csvFile = path.join(scratch, 'loans.csv');
  writeFileSync(csvFile, CSV);
  tree = previousVersionTree(scratch);
  made = makePreviousVersionHome(home);

  target = await createPostgresDatabase();
  result = await migrateHome({ home, targetUrl: target.url });
  db = await openDatabase({ url: target.url, poolSize: 4 });
  // Before any test signs in or creates anything (those are audited too).
  chainAfterMove = await verifyAuditChain(db.db);
}, 240_000);

afterAll(async () => {
  const roles = db ? (await db.query('select role_name from project_storage')).map((r) => String(r.role_name)) : [];
  if (db) {
    await closeSandboxPools(db.db);
    await db.close();
  }
  await target?.drop();
  if (roles.length) {
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    for (const role of roles) await admin.query(`drop role if exists "${role.replace(/"/g, '""')}"`);
    await admin.end();
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('migrate-home from a PGlite home of the previous version', () => {
  it('moves pgdata aside (kept, not deleted) so the next start no longer finds it', () => {
    expect(legacyPgliteDir(home)).toBeNull();
    expect(existsSync(path.join(result.movedTo, 'PG_VERSION'))).toBe(true);
    expect(readdirSync(home).filter((f) => f.startsWith('pgdata.migrated-'))).toHaveLength(1);
    expect(result.projects).toBe(1);
  });

  it('keeps the account: the password set on the previous version signs in', async () => {
    const session = await signIn({ ctx: ctxFor(db.db, null), input: { email: made.email, password: 'correct horse battery' } });
    expect(session.user.id).toBe(made.userId);
  });

  it('keeps teams, projects and dataset metadata', async () => {
    const actor = { type: 'user' as const, userId: made.userId as UserId, email: made.email, name: 'editor' };
    const projects = await callerFor(db.db, actor).projects.list({ teamId: made.teamId });
    expect(projects.map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([[made.projectId, 'Credit']]);
    const design = await callerFor(db.db, actor).datasets.get({ projectId: made.projectId, environment: 'design', name: 'loans' });
    expect(design.rowCount).toBe(3);
    const production = await callerFor(db.db, actor).datasets.get({ projectId: made.projectId, environment: 'production', name: 'loans' });
    expect(production.rowCount).toBe(4);
  });

  it("keeps every dataset row, readable through the SQL sandbox logged in as the project's own role", async () => {
    const read = async (environment: 'design' | 'production') => {
      const r = await runSandboxedSelect(db.db, { projectId: made.projectId, environment }, { sql: 'select id, status, amount from loans order by id', limit: 100 });
      if (!r.ok) throw new Error(`${r.reason}: ${r.message}`);
      return r.rows.map((row) => ({ id: Number(row.id), status: row.status, amount: row.amount === null ? null : Number(row.amount) }));
    };
    expect(await read('design')).toEqual(EXPECTED);
    expect(await read('production')).toEqual([...EXPECTED, { id: 99, status: 'late', amount: 12.5 }]);
    const [owner] = await db.query(`select tableowner from pg_tables where schemaname = $1 and tablename = 'loans'`, [`p_${made.projectId.replace(/-/g, '')}_design`]);
    expect(owner?.tableowner).toBe(`sb_p_${made.projectId.replace(/-/g, '')}`);
    // The role reaches its own schemas only.
    const escape = await runSandboxedSelect(db.db, { projectId: made.projectId, environment: 'design' }, { sql: 'select email from public.users', limit: 1 });
    expect(escape.ok).toBe(false);
  });

  it('keeps the audit chain intact and extends it after the move', async () => {
    expect(chainAfterMove).toMatchObject({ ok: true, events: made.auditEvents });
    expect(made.auditEvents).toBeGreaterThanOrEqual(5);
    const actor = { type: 'user' as const, userId: made.userId as UserId, email: made.email, name: 'editor' };
    await callerFor(db.db, actor).teams.create({ name: 'After the move' });
    const after = await verifyAuditChain(db.db);
    expect(after).toMatchObject({ ok: true });
    expect(after.events).toBeGreaterThan(chainAfterMove.events);
  });

  it('keeps the migration records, one per migration of the previous version', async () => {
    const journal = JSON.parse(readFileSync(path.join(repoRoot, 'db/migrations/meta/_journal.json'), 'utf8')) as { entries: unknown[] };
    const [{ n } = { n: 0 }] = await db.query('select count(*)::int as n from drizzle.__drizzle_migrations');
    expect(Number(n)).toBe(journal.entries.length);
  });

  it('refuses to copy into a database that already has users', async () => {
    const again = mkdtempSync(path.join(scratch, 'again-'));
    execFileSync('cp', ['-a', result.movedTo, path.join(again, 'pgdata')]);
    await expect(migrateHome({ home: again, targetUrl: target.url })).rejects.toThrow(/already has users/);
    expect(legacyPgliteDir(again)).not.toBeNull();
  });

  it('on the command line: start stops naming migrate-home; migrate-home copies into the embedded server; audit-verify passes there', async () => {
    const cliHome = path.join(scratch, 'cli-home');
    const cliMade = makePreviousVersionHome(cliHome);
    chmodSync(cliHome, 0o711);
    const start = await cli(['start'], cliHome);
    expect(start.code).toBe(1);
    expect(start.output).toContain(`${path.join(cliHome, 'pgdata')} holds the database of an earlier Stagebook (PGlite)`);
    expect(start.output).toContain('migrate-home');
    expect(existsSync(path.join(cliHome, 'pg'))).toBe(false);

    const migrate = await cli(['migrate-home'], cliHome);
    expect(migrate.output).toMatch(/copied \d+ rows in \d+ tables \(1 projects\)/);
    expect(migrate.code).toBe(0);
    expect(legacyPgliteDir(cliHome)).toBeNull();

    const verify = await cli(['audit-verify'], cliHome);
    expect(verify.output).toContain(`audit chain intact: ${cliMade.auditEvents} events`);
    expect(verify.code).toBe(0);
  }, 240_000);
});
