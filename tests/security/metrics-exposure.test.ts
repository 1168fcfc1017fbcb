import { networkInterfaces } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '@/server/app';
import { loadEnv } from '@/server/env';
import { startMetricsServer } from '@/server/metrics/server';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Metrics tell who uses which endpoint how often and how the servers are doing: they are for the
 * operator's scraper, not the public. The public port never serves them (in any role, with any
 * credentials); the metrics listener binds loopback unless the operator says otherwise.
 */
describe('/metrics is not open to the public', () => {
  let t: TestDatabase;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    for (const role of ['all', 'web', 'api', 'worker'] as const) apps.push(await buildApp({ db: t.db, driver: t.driver, role }));
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await t?.dispose();
  });

  it('is not served on the public port by any role, by any method or spelling', async () => {
    for (const app of apps) {
      for (const url of ['/metrics', '/metrics/', '/METRICS', '/api/metrics', '/api/v1/metrics', '/metrics?format=prometheus']) {
        for (const method of ['GET', 'POST'] as const) {
          const res = await app.inject({ method, url, headers: { authorization: 'Bearer sbk_anything' } });
          expect(res.statusCode, `${method} ${url}`).not.toBe(200);
          expect(res.body).not.toMatch(/stagebook_http_requests_total|process_cpu/);
        }
      }
    }
  });

  it('listens on loopback only unless METRICS_HOST says otherwise', async () => {
    const env = loadEnv({ METRICS_PORT: '0' });
    expect(env.METRICS_HOST).toBe('127.0.0.1');
    expect(loadEnv({}).METRICS_PORT).toBeUndefined();
    expect(() => loadEnv({ METRICS_PORT: 'ninety' })).toThrow(/METRICS_PORT/);
    const metrics = await startMetricsServer({ host: env.METRICS_HOST, port: env.METRICS_PORT! });
    try {
      const address = metrics.server.address();
      expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
      const port = typeof address === 'object' && address ? address.port : 0;
      expect((await fetch(metrics.url)).status).toBe(200);
      // Where this machine has a non-loopback address, nothing answers there.
      const outside = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
      if (outside) await expect(fetch(`http://${outside.address}:${port}/metrics`, { signal: AbortSignal.timeout(3000) })).rejects.toThrow();
      // Only GET /metrics is served there.
      expect((await fetch(metrics.url.replace('/metrics', '/api/health'))).status).toBe(404);
      expect((await fetch(metrics.url, { method: 'POST' })).status).toBe(404);
    } finally {
      await metrics.close();
    }
  });
});
