import path from 'node:path';
import pg from 'pg';
import { closeSandboxPools } from '@/server/services/datasets/sql-sandbox';
import { sharedDataFile } from './data';
import type { TestDatabase } from './db';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const creditDataCsv = sharedDataFile('credit_data.csv');

/**
 * Disposes a test database that has project storage: closes the sandbox pools, drops the database,
 * then the per-project roles (roles are cluster-wide and would outlive it).
 */
export async function disposeWithProjectRoles(t: TestDatabase | undefined): Promise<void> {
  if (!t) return;
  const roles = (await t.query('select role_name from project_storage').catch(() => [])).map((r) => String(r.role_name));
  await closeSandboxPools(t.db);
  await t.dispose();
  if (roles.length === 0) return;
  // The same server's maintenance database: the test database is gone by now.
  const adminUrl = new URL(t.url);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    for (const role of roles) await admin.query(`drop role if exists "${role.replace(/"/g, '""')}"`);
  } finally {
    await admin.end();
  }
}
