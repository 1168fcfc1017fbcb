import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsRegistry } from './registry';

export type MetricsServer = { url: string; server: Server; close: () => Promise<void> };

/**
 * `GET /metrics` in Prometheus text format on its own listener (METRICS_PORT), apart from the
 * public port: nothing the public port serves reveals it, and by default it listens on 127.0.0.1
 * only. `extra` appends another exposition (the Temporal worker's own, see temporal-metrics.ts).
 */
export async function startMetricsServer(opts: { host: string; port: number; extra?: () => Promise<string> }): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    void scrape(opts.extra).then(
      (body) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(body),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`could not collect metrics: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/metrics`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function scrape(extra?: () => Promise<string>): Promise<string> {
  const own = await metricsRegistry.metrics();
  if (!extra) return own;
  // The worker's exposition is best effort: a scrape still answers with ours when it fails.
  const theirs = await extra().catch((err: unknown) => `# the Temporal worker's metrics could not be read: ${(err as Error).message}\n`);
  return `${own}\n${theirs}`;
}
