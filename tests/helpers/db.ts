import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '@/db/client';
import { embeddedPostgresAdminUrl } from './embedded-postgres';

/** The real Postgres server CI provides; tests create and drop their own databases on it. */
export const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * 'embedded': a fresh database on the run's embedded PostgreSQL server (tests/helpers/embedded-postgres.ts,
 * what `npm start` runs without DATABASE_URL); 'postgres': a fresh database on the server at 127.0.0.1:5432.
 */
export const drivers = ['embedded', 'postgres'] as const;
export type Driver = (typeof drivers)[number];

export type TestDatabase = Database & { url: string; dispose: () => Promise<void> };

async function adminQuery(adminUrl: string, sql: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function adminUrlOf(driver: Driver): Promise<string> {
  return driver === 'embedded' ? embeddedPostgresAdminUrl() : POSTGRES_ADMIN_URL;
}

/** An empty database of its own on the driver's server (default: the one at 127.0.0.1:5432). */
export async function createPostgresDatabase(driver: Driver = 'postgres'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const adminUrl = await adminUrlOf(driver);
  const name = `sb_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => adminQuery(adminUrl, `drop database if exists ${name} with (force)`),
  };
}

/** A migrated, empty database of its own on the driver's server. */
export async function openTestDatabase(driver: Driver): Promise<TestDatabase> {
  const { url, drop } = await createPostgresDatabase(driver);
  const d = await openDatabase({ url, poolSize: 5, driver });
  await d.migrate();
  return {
    ...d,
    url,
    dispose: async () => {
      await d.close();
      await drop();
    },
  };
}
