import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';

/** Readiness (database and Temporal reachable: take traffic) and liveness (the process answers: do not restart it). */
export const READINESS_PATH = '/api/health';
export const LIVENESS_PATH = '/api/live';

export type HealthDeps = { db: Db; driver: string; checkTemporal?: (() => Promise<void>) | undefined; version: string; role: string };
export type Health = {
  status: 'ok' | 'degraded';
  version: string;
  role: string;
  database: { ok: boolean; driver: string; latencyMs: number; error?: string };
  temporal: { ok: boolean; latencyMs: number; error?: string } | { ok: null; reason: string };
};

async function timed(fn: () => Promise<unknown>): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const t0 = performance.now();
  try {
    await Promise.race([fn(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 3 s')), 3000).unref())]);
    return { ok: true, latencyMs: Math.round(performance.now() - t0) };
  } catch (err) {
    return { ok: false, latencyMs: Math.round(performance.now() - t0), error: err instanceof Error ? err.message : String(err) };
  }
}

export async function checkHealth(deps: HealthDeps): Promise<Health> {
  const [database, temporal] = await Promise.all([
    timed(() => deps.db.execute(sql`select 1`)),
    deps.checkTemporal ? timed(deps.checkTemporal) : Promise.resolve({ ok: null, reason: 'this role does not use Temporal' } as const),
  ]);
  const ok = database.ok && temporal.ok !== false;
  return { status: ok ? 'ok' : 'degraded', version: deps.version, role: deps.role, database: { ...database, driver: deps.driver }, temporal };
}
