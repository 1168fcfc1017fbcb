/**
 * The embedded PostgreSQL server `npm start` runs without DATABASE_URL (server/embedded-postgres.ts):
 * created on first use under the home, reachable only on 127.0.0.1 with the generated password, and
 * the same cluster, password and port on the next start.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@/server/embedded-postgres';

async function query(config: pg.ClientConfig | string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client(typeof config === 'string' ? { connectionString: config } : config);
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function connectError(config: pg.ClientConfig): Promise<{ code?: string; message: string } | null> {
  try {
    await query({ ...config, connectionTimeoutMillis: 5_000 }, 'select 1');
    return null;
  } catch (err) {
    return err as { code?: string; message: string };
  }
}

describe('the embedded PostgreSQL server', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'sb-embedded-home-'));
  chmodSync(home, 0o711);
  const dataDir = path.join(home, 'pg');
  let server: EmbeddedPostgres | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('creates a cluster on first use, on 127.0.0.1 only, with a generated password kept 0600 in the home', async () => {
    server = await startEmbeddedPostgres({ dataDir });
    const url = new URL(server.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(server.port);
    expect(url.pathname).toBe('/stagebook');
    const password = readFileSync(path.join(dataDir, 'password'), 'utf8').trim();
    expect(password.length).toBeGreaterThanOrEqual(24);
    expect(decodeURIComponent(url.password)).toBe(password);
    expect(statSync(path.join(dataDir, 'password')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(dataDir, 'port'), 'utf8').trim()).toBe(String(server.port));

    const [settings] = await query(server.url, "select version() as v, current_setting('listen_addresses') as listen, current_setting('unix_socket_directories') as sockets, current_setting('password_encryption') as enc");
    expect(settings).toMatchObject({ v: expect.stringMatching(/^PostgreSQL 18\./), listen: '127.0.0.1', sockets: '', enc: 'scram-sha-256' });
    expect(await query(server.url, "select rule_number, type, auth_method from pg_hba_file_rules where auth_method = 'trust'")).toEqual([]);

    // Without the password, or with a wrong one, nobody gets in; the binaries are where it says.
    const base = { host: '127.0.0.1', port: server.port, user: 'postgres', database: 'stagebook' };
    expect(await connectError({ ...base, password: 'wrong' })).toMatchObject({ code: '28P01' });
    expect(await connectError({ ...base, password: '' })).not.toBeNull();
    expect(statSync(path.join(server.binDir, 'postgres')).isFile()).toBe(true);
  });

  it('keeps its data, password and port across a restart, and says why it cannot start', async () => {
    await query(server!.url, 'create table kept (n int); insert into kept values (42)');
    const before = server!;
    await before.stop();
    expect(await connectError({ host: '127.0.0.1', port: before.port, user: 'postgres', password: 'x' })).toMatchObject({ code: 'ECONNREFUSED' });
    server = await startEmbeddedPostgres({ dataDir });
    expect(server.url).toBe(before.url);
    expect(await query(server.url, 'select n from kept')).toEqual([{ n: 42 }]);

    // A second server on the same data directory is refused by Postgres' own lock, with its reason.
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/lock file "postmaster.pid" already exists/);
    expect(await query(server.url, 'select n from kept')).toEqual([{ n: 42 }]);
  });
});
