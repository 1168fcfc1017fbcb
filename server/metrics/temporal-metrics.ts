import { createServer } from 'node:net';

/**
 * The Temporal SDK's core exports its own metrics (task slots, poll latencies, sticky cache, ...)
 * through a Prometheus endpoint it binds itself. It listens on a free loopback port and the
 * process's /metrics appends what it says, so one scrape target per process covers both.
 */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export function temporalMetricsReader(bindAddress: string): () => Promise<string> {
  return async () => {
    const res = await fetch(`http://${bindAddress}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`the worker's exporter answered ${res.status}`);
    return res.text();
  };
}
