import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { VERSION } from '../version';

/**
 * `stagebook backup` and `stagebook restore`. A backup is one .tar.gz with a manifest
 * (`stagebook-backup.json`) and either
 *
 * - `home`: the embedded server's whole directory (`pg/`: cluster, password, port) and the Temporal
 *   dev server's state (`temporal.sqlite*`), copied while nothing runs on the home (the caller holds
 *   the home lock). A file copy, not pg_dump: the embedded package ships no pg_dump, Debian's is
 *   older than its PostgreSQL 18 (pg_dump refuses newer servers), and a file copy of a stopped
 *   cluster also carries the per-project login roles, which a one-database dump would not. Taken
 *   offline, it is consistent (a home left by a crash restores through the server's crash recovery).
 * - `dump`: `pg_dump --format=custom` of DATABASE_URL's database, taken online with the pg_dump on
 *   PATH, which must be at least the server's major version. Temporal's state is the Temporal
 *   cluster's to back up (TEMPORAL_ADDRESS); the per-project roles are the server's (pg_dumpall --roles-only).
 */
const run = promisify(execFile);
export const MANIFEST = 'stagebook-backup.json';

export type BackupManifest = {
  format: 1;
  kind: 'home' | 'dump';
  stagebookVersion: string;
  createdAt: string;
  /** PostgreSQL major version of the cluster (home) or of the server dumped. */
  postgresMajor: number;
  files: string[];
};

const TEMPORAL_FILES = /^temporal\.sqlite(-wal|-shm|-journal)?$/;

async function tar(args: string[]): Promise<string> {
  const { stdout } = await run('tar', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Writes a backup of a home nothing runs on (embedded Postgres stopped, Temporal dev server stopped). */
export async function backupHome(home: string, out: string): Promise<BackupManifest> {
  const pgDir = path.join(home, 'pg');
  const pgVersionFile = path.join(pgDir, 'data', 'PG_VERSION');
  if (!existsSync(pgVersionFile)) throw new Error(`${home} has no embedded database (${pgVersionFile} is missing): nothing to back up`);
  const temporal = readdirSync(home).filter((f) => TEMPORAL_FILES.test(f));
  const manifest: BackupManifest = {
    format: 1,
    kind: 'home',
    stagebookVersion: VERSION,
    createdAt: new Date().toISOString(),
    postgresMajor: Number(readFileSync(pgVersionFile, 'utf8').trim()),
    files: ['pg', ...temporal],
  };
  writeFileSync(path.join(home, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  try {
    // The pid file of a server that crashed would make the restored one look taken.
    await tar(['-czf', path.resolve(out), '-C', home, '--exclude=pg/data/postmaster.pid', '--exclude=pg/data/postmaster.opts', MANIFEST, ...manifest.files]);
  } finally {
    rmSync(path.join(home, MANIFEST), { force: true });
  }
  return manifest;
}

export async function readManifest(file: string): Promise<BackupManifest> {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  let text: string;
  try {
    text = await tar(['-xzOf', path.resolve(file), MANIFEST]);
  } catch {
    throw new Error(`${file} is not a Stagebook backup (no ${MANIFEST} inside a .tar.gz)`);
  }
  const m = JSON.parse(text) as BackupManifest;
  if (m.format !== 1 || (m.kind !== 'home' && m.kind !== 'dump')) throw new Error(`${file}: unknown backup format ${JSON.stringify({ format: m.format, kind: m.kind })}`);
  return m;
}

/**
 * Replaces a stopped home's database and Temporal state with a `home` backup's. What was there is
 * moved to `before-restore-<time>/` in the home, never deleted.
 */
export async function restoreHome(home: string, file: string): Promise<{ manifest: BackupManifest; movedTo: string | null }> {
  const manifest = await readManifest(file);
  if (manifest.kind !== 'home') throw new Error(`${file} is a dump of a Postgres server (DATABASE_URL); restore it with DATABASE_URL set`);
  mkdirSync(home, { recursive: true });
  const present = readdirSync(home).filter((f) => f === 'pg' || TEMPORAL_FILES.test(f));
  let movedTo: string | null = null;
  if (present.length) {
    movedTo = path.join(home, `before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(movedTo);
    for (const f of present) renameSync(path.join(home, f), path.join(movedTo, f));
  }
  try {
    await tar(['-xzf', path.resolve(file), '-C', home, '--exclude', MANIFEST]);
  } catch (err) {
    // Put back what was there: a half-extracted cluster is worse than the old one.
    for (const f of manifest.files) rmSync(path.join(home, f), { recursive: true, force: true });
    if (movedTo) for (const f of present) renameSync(path.join(movedTo, f), path.join(home, f));
    throw err;
  }
  return { manifest, movedTo };
}

async function serverMajor(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ v: string }>("select current_setting('server_version_num') as v");
    return Math.floor(Number(r.rows[0]!.v) / 10000);
  } finally {
    await client.end();
  }
}

/** The pg_dump/pg_restore on PATH, checked against the server's major version. */
async function clientTool(name: 'pg_dump' | 'pg_restore', major: number): Promise<string> {
  let version: string;
  try {
    version = (await run(name, ['--version'])).stdout;
  } catch {
    throw new Error(`${name} was not found on PATH; install the PostgreSQL ${major} client tools (Debian: postgresql-client-${major})`);
  }
  const m = /(\d+)(?:\.\d+)?/.exec(version);
  const toolMajor = m ? Number(m[1]) : 0;
  if (toolMajor < major) throw new Error(`${name} is version ${toolMajor} but the server is PostgreSQL ${major}: install the PostgreSQL ${major} client tools`);
  return name;
}

/** An online `pg_dump` of DATABASE_URL's database. */
export async function backupServer(url: string, out: string): Promise<BackupManifest> {
  const major = await serverMajor(url);
  const pgDump = await clientTool('pg_dump', major);
  const dir = mkdtempSync(path.join(path.dirname(path.resolve(out)), '.stagebook-backup-'));
  try {
    await run(pgDump, ['--format=custom', '--file', path.join(dir, 'database.dump'), '--dbname', url], { maxBuffer: 64 * 1024 * 1024 });
    const manifest: BackupManifest = { format: 1, kind: 'dump', stagebookVersion: VERSION, createdAt: new Date().toISOString(), postgresMajor: major, files: ['database.dump'] };
    writeFileSync(path.join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await tar(['-czf', path.resolve(out), '-C', dir, MANIFEST, 'database.dump']);
    return manifest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Restores a `dump` backup into DATABASE_URL's database in one transaction: the objects in the dump
 * are dropped and recreated (`--clean --if-exists`), so what the backup has is what the database has.
 */
export async function restoreServer(url: string, file: string): Promise<BackupManifest> {
  const manifest = await readManifest(file);
  if (manifest.kind !== 'dump') throw new Error(`${file} is a backup of an embedded home; restore it without DATABASE_URL, on STAGEBOOK_HOME`);
  const pgRestore = await clientTool('pg_restore', Math.max(manifest.postgresMajor, await serverMajor(url)));
  const dir = mkdtempSync(path.join(path.dirname(path.resolve(file)), '.stagebook-restore-'));
  try {
    await tar(['-xzf', path.resolve(file), '-C', dir, 'database.dump']);
    await run(pgRestore, ['--clean', '--if-exists', '--single-transaction', '--exit-on-error', '--dbname', url, path.join(dir, 'database.dump')], { maxBuffer: 64 * 1024 * 1024 });
    return manifest;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
