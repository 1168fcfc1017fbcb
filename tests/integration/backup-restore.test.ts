/**
 * `stagebook backup` and `stagebook restore` round trips, through the CLI as an operator runs them:
 * on an embedded home (database and Temporal state) and on a Postgres server (DATABASE_URL, pg_dump).
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@/db/client';
import { startEmbeddedPostgres } from '@/server/embedded-postgres';
import { verifyAuditChain } from '@/server/services/audit/verify-audit-chain';
import { callerFor, newUser } from '../helpers/api';
import { createPostgresDatabase } from '../helpers/db';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(path.join(tmpdir(), 'sb-backup-'));
// As root the embedded server runs as `postgres`, which must be able to pass through.
chmodSync(scratch, 0o711);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!env.DATABASE_URL) delete childEnv.DATABASE_URL;
  const child = spawn(process.execPath, ['server/launch.mjs', ...args], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

/** Runs `fn` on the home's embedded database, started and stopped around it. */
async function onHome<T>(home: string, fn: (d: Database) => Promise<T>): Promise<T> {
  const server = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg') });
  try {
    const d = await openDatabase({ url: server.url, poolSize: 2 });
    try {
      return await fn(d);
    } finally {
      await d.close();
    }
  } finally {
    await server.stop();
  }
}

async function teamNames(d: Database): Promise<string[]> {
  return (await d.query('select name from teams order by name')).map((r) => String(r.name));
}

describe('backup and restore', () => {
  it('an embedded home comes back as it was at the backup: database rows, audit chain and Temporal state', async () => {
    const home = mkdtempSync(path.join(scratch, 'home-'));
    chmodSync(home, 0o711);
    const env = { STAGEBOOK_HOME: home };
    const atBackup = await onHome(home, async (d) => {
      await d.migrate();
      const admin = await newUser(d.db, 'admin');
      await callerFor(d.db, admin).teams.create({ name: 'Original' });
      return { chain: await verifyAuditChain(d.db), admin };
    });
    expect(atBackup.chain.ok).toBe(true);
    writeFileSync(path.join(home, 'temporal.sqlite'), 'temporal state at the backup');

    const file = path.join(scratch, 'home-backup.tar.gz');
    const backup = await cli(['backup', '--out', file], env);
    expect(backup.output).toContain(`to ${file}`);
    expect(backup.code).toBe(0);

    await onHome(home, async (d) => {
      await callerFor(d.db, atBackup.admin).teams.create({ name: 'Later' });
      expect(await teamNames(d)).toEqual(['Later', 'Original']);
    });
    writeFileSync(path.join(home, 'temporal.sqlite'), 'temporal state after the backup');

    const restore = await cli(['restore', file], env);
    expect(restore.output).toContain(`audit chain intact: ${atBackup.chain.events} events`);
    expect(restore.code).toBe(0);

    await onHome(home, async (d) => {
      expect(await teamNames(d)).toEqual(['Original']);
      const chain = await verifyAuditChain(d.db);
      expect(chain).toEqual(atBackup.chain);
    });
    expect(readFileSync(path.join(home, 'temporal.sqlite'), 'utf8')).toBe('temporal state at the backup');
    // What the restore replaced is kept, not deleted.
    const kept = readdirSync(home).filter((f) => f.startsWith('before-restore-'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(path.join(home, kept[0]!, 'temporal.sqlite'), 'utf8')).toBe('temporal state after the backup');
  }, 180_000);

  it('refuses to back up or restore a home a running Stagebook holds, naming its pid', async () => {
    const home = mkdtempSync(path.join(scratch, 'busy-'));
    const holder = spawn(process.execPath, ['--import', 'tsx', '-e', `import('${repoRoot}/server/home-lock.ts').then((m) => { m.acquireHomeLock(${JSON.stringify(home)}); console.log('locked'); setInterval(() => {}, 10000); })`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => holder.stdout.on('data', (c: Buffer) => c.toString().includes('locked') && resolve()));
      const r = await cli(['backup', '--out', path.join(scratch, 'never.tar.gz')], { STAGEBOOK_HOME: home });
      expect(r.code).toBe(1);
      expect(r.output).toContain(`another Stagebook (pid ${holder.pid}) is running`);
    } finally {
      holder.kill('SIGKILL');
    }
  }, 60_000);

  it('a Postgres server database (DATABASE_URL) round-trips through pg_dump and pg_restore', async () => {
    const target = await createPostgresDatabase('postgres');
    try {
      const d = await openDatabase({ url: target.url, poolSize: 2 });
      let events: number;
      try {
        await d.migrate();
        const admin = await newUser(d.db, 'admin');
        await callerFor(d.db, admin).teams.create({ name: 'Original' });
        const chain = await verifyAuditChain(d.db);
        expect(chain.ok).toBe(true);
        events = chain.events;
        const file = path.join(scratch, 'server-backup.tar.gz');
        const backup = await cli(['backup', '--out', file], { DATABASE_URL: target.url, STAGEBOOK_HOME: path.join(scratch, 'unused') });
        expect(backup.output).toContain('pg_dump');
        expect(backup.code).toBe(0);
        await callerFor(d.db, admin).teams.create({ name: 'Later' });
        const restore = await cli(['restore', file], { DATABASE_URL: target.url, STAGEBOOK_HOME: path.join(scratch, 'unused') });
        expect(restore.output).toContain(`audit chain intact: ${events} events`);
        expect(restore.code).toBe(0);
        expect(await teamNames(d)).toEqual(['Original']);
      } finally {
        await d.close();
      }
    } finally {
      await target.drop();
    }
  }, 180_000);
});
