/**
 * The multi-process topology of tests/integration/cluster.test.ts: 2 web, 1 api and 2 worker
 * processes (`server/cli.ts start --role ...`, each its own OS process and process group) on one
 * Postgres database and one Temporal dev server, plus a TCP balancer in front of the web processes
 * (what a Kubernetes Service or a load balancer does: a new connection goes to a web process that
 * accepts it).
 */
import net from 'node:net';
import { startServer, type ServerChild } from '../e2e/server';

export type Cluster = { web: ServerChild[]; api: ServerChild; workers: ServerChild[]; stop: () => Promise<void> };

export async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const common = { ...env, STAGEBOOK_COLLAB_RELAY: 'postgres', LOG_LEVEL: 'warn' };
  const started = await Promise.allSettled([
    startServer({ role: 'web', env: common, readyTimeoutMs: 180_000 }),
    startServer({ role: 'web', env: common, readyTimeoutMs: 180_000 }),
    startServer({ role: 'api', env: common, readyTimeoutMs: 180_000 }),
    startServer({ role: 'worker', env: common, readyTimeoutMs: 180_000 }),
    startServer({ role: 'worker', env: common, readyTimeoutMs: 180_000 }),
  ]);
  const up = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(up.map((s) => s.stop().catch(() => undefined)));
  };
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const [web1, web2, api, worker1, worker2] = up as [ServerChild, ServerChild, ServerChild, ServerChild, ServerChild];
  return { web: [web1, web2], api, workers: [worker1, worker2], stop };
}

export type Balancer = { port: number; url: string; connectionsTo: Map<number, number>; close: () => Promise<void> };

/**
 * A TCP balancer on a free loopback port: each new connection goes to the first backend port that
 * accepts it, so when a process dies its clients' reconnections land on the next one.
 */
export async function startBalancer(backends: number[]): Promise<Balancer> {
  const connectionsTo = new Map<number, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const tryBackend = (i: number) => {
      const port = backends[i];
      if (port === undefined) return client.destroy();
      const upstream = net.connect(port, '127.0.0.1');
      let connected = false;
      upstream.on('error', () => {
        upstream.destroy();
        if (connected) client.destroy();
        else tryBackend(i + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        connectionsTo.set(port, (connectionsTo.get(port) ?? 0) + 1);
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: `ws://127.0.0.1:${port}/collab`,
    connectionsTo,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export const portOf = (s: ServerChild): number => Number(new URL(s.baseUrl).port);
