import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '@/server/app';
import { cookieFor, seedNotebook, type Seeded } from '../helpers/collab';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/** Sends one raw WebSocket upgrade request and resolves with the status line the server wrote, once it closed the socket. */
function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to an upgrade of ${path} within ${timeoutMs} ms (got ${JSON.stringify(received)})`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received.split('\r\n')[0] ?? '');
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
    );
  });
}

const openConnections = (app: FastifyInstance) => new Promise<number>((resolve, reject) => app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));

describe('WebSocket upgrades: every one is answered, and /collab only from our own origin', () => {
  let t: TestDatabase;
  const apps: FastifyInstance[] = [];
  let s: Seeded;

  async function start(role: 'web' | 'api', extra: Partial<Parameters<typeof buildApp>[0]> = {}): Promise<{ app: FastifyInstance; port: number }> {
    const app = await buildApp({ db: t.db, driver: t.driver, role, ...extra });
    apps.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, port: (app.server.address() as AddressInfo).port };
  }

  beforeAll(async () => {
    t = await openTestDatabase('postgres');
    s = await seedNotebook(t.db, 'upgrades');
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await t?.dispose();
  });

  for (const role of ['web', 'api'] as const) {
    it(`role ${role}: 2,000 upgrades to a path that is not /collab each get an HTTP answer, and the server's sockets return to baseline`, async () => {
      const { app, port } = await start(role);
      const baseline = await openConnections(app);
      const statuses: string[] = [];
      // In waves of 200, as an attacker with a modest file-descriptor budget would.
      for (let wave = 0; wave < 10; wave++) {
        statuses.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => rawUpgrade(port, i % 2 ? '/nope' : '/api/v1/ws?x=1')))));
      }
      expect(statuses).toHaveLength(2000);
      expect(new Set(statuses)).toEqual(new Set(['HTTP/1.1 404 Not Found']));
      await vi.waitFor(async () => expect(await openConnections(app)).toBe(baseline), { timeout: 10_000 });
    }, 120_000);
  }

  it('refuses a cross-site Origin on /collab with HTTP 403 before any WebSocket exists; same-origin and Origin-less clients connect', async () => {
    const { port } = await start('web', { publicUrl: 'https://stagebook.example.com' });
    const cookie = await cookieFor(t.db, s.users.editor);
    const path = `/collab/${s.notebookId}`;
    // The attack: a page on another site opens our socket, and the browser sends the victim's cookie.
    expect(await rawUpgrade(port, path, { Origin: 'https://evil.example', Cookie: cookie })).toBe('HTTP/1.1 403 Forbidden');
    expect(await rawUpgrade(port, path, { Origin: 'https://stagebook.example.com.evil.example', Cookie: cookie })).toBe('HTTP/1.1 403 Forbidden');
    expect(await rawUpgrade(port, path, { Origin: 'null', Cookie: cookie })).toBe('HTTP/1.1 403 Forbidden');

    const opened = (headers: Record<string, string>) =>
      new Promise<number | 'open'>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => {});
      });
    expect(await opened({ Origin: 'https://stagebook.example.com', Cookie: cookie })).toBe('open');
    // Non-browser clients (the y-websocket client in Node, CLIs) send no Origin; browsers always do.
    expect(await opened({ Cookie: cookie })).toBe('open');
  });

  it('without a public URL, the Origin must match the Host the request came to', async () => {
    const { port } = await start('web');
    const cookie = await cookieFor(t.db, s.users.editor);
    const path = `/collab/${s.notebookId}`;
    expect(await rawUpgrade(port, path, { Origin: 'http://localhost:1', Cookie: cookie })).toBe('HTTP/1.1 403 Forbidden');
    const code = await new Promise<number | 'open'>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { Origin: `http://127.0.0.1:${port}`, Cookie: cookie } });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
    expect(code).toBe('open');
  });

  it('bounds upgrades waiting for authorisation: beyond the limit they get 503, and a stalled one is dropped after the timeout', async () => {
    // A notebook load that never finishes stands in for a slow database.
    const { app, port } = await start('web', { collab: { maxPendingUpgrades: 3, upgradeTimeoutMs: 1_000 } });
    const cookie = await cookieFor(t.db, s.users.editor);
    const collab = app.collab!;
    const stall = new Promise<never>(() => {});
    (collab as unknown as { acquire: (id: string) => Promise<never> }).acquire = () => stall;
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => rawUpgrade(port, `/collab/${s.notebookId}`, { Cookie: cookie })));
    expect(answers.filter((a) => a === 'HTTP/1.1 503 Service Unavailable')).toHaveLength(2);
    // The three admitted ones time out: answered and closed, never upgraded.
    expect(answers.filter((a) => a === 'HTTP/1.1 408 Request Timeout')).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await vi.waitFor(async () => expect(await openConnections(app)).toBe(0));
  });
});
