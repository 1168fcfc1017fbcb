import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '@/db/client';

/** The real Postgres server CI provides; tests create and drop their own databases on it. */
export const POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const drivers = ['pglite', 'postgres'] as const;
export type Driver = (typeof drivers)[number];

export type TestDatabase = Database & { url: string | null; dispose: () => Promise<void> };

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createPostgresDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `sb_t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database ${name}`);
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

/** A migrated, empty database: PGlite in memory, or a fresh database on the Postgres server. */
export async function openTestDatabase(driver: Driver): Promise<TestDatabase> {
  if (driver === 'pglite') {
    const d = await openDatabase({ dataDir: 'memory://' });
    await d.migrate();
    return { ...d, url: null, dispose: () => d.close() };
  }
  const { url, drop } = await createPostgresDatabase();
  const d = await openDatabase({ url, poolSize: 5 });
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
