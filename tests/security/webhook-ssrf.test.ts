import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { attemptDelivery } from '@/server/services/notifications/deliver';
import { enqueueNotification } from '@/server/services/notifications/enqueue-notification';
import { notificationSettings } from '@/server/services/notifications/settings';
import { EMPTY_ALLOW_LIST, parseWebhookAllowList, refusedRange } from '@/server/services/notifications/webhook-address';
import { callerFor, ctxFor, newUser } from '../helpers/api';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Webhooks are typed by deployers and sent from inside the server's network: every internal
 * address is refused unless STAGEBOOK_WEBHOOK_ALLOW names it, whatever the URL's spelling, however
 * the name resolves, and redirects are not followed. Real HTTP servers on loopback stand in for the
 * internal services an attacker would aim at.
 */
type Receiver = { port: number; hits: string[]; close: () => Promise<void> };

async function receiver(host: string, answer: (res: http.ServerResponse) => void = (res) => res.end('ok')): Promise<Receiver> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let t: TestDatabase;
let deployer: Extract<Actor, { type: 'user' }>;
let projectId: string;
let loopback: Receiver;
let channels = 0;
const savedAllow = process.env.STAGEBOOK_WEBHOOK_ALLOW;

beforeAll(async () => {
  // The default: no allow-list (vitest.config.ts allows loopback for the other test files).
  delete process.env.STAGEBOOK_WEBHOOK_ALLOW;
  t = await openTestDatabase('postgres');
  const admin = await newUser(t.db, 'admin');
  const team = await callerFor(t.db, admin).teams.create({ name: 'Hooks' });
  projectId = (await callerFor(t.db, admin).projects.create({ teamId: team.id, name: 'Hooks' })).id;
  deployer = await newUser(t.db, 'deployer');
  await t.db.insert(teamMembers).values({ teamId: team.id, userId: deployer.userId, role: 'deployer' });
  loopback = await receiver('127.0.0.1');
}, 60_000);

afterAll(async () => {
  if (savedAllow === undefined) delete process.env.STAGEBOOK_WEBHOOK_ALLOW;
  else process.env.STAGEBOOK_WEBHOOK_ALLOW = savedAllow;
  await loopback?.close();
  await t?.dispose();
});

/** Creates a channel to `url` and presses Send test, as a deployer would. */
async function sendTest(url: string) {
  const name = `hook-${++channels}`;
  await callerFor(t.db, deployer).notifications.create({ projectId, name, kind: 'webhook', url });
  return callerFor(t.db, deployer).notifications.test({ projectId, name });
}

describe('webhooks to internal addresses (SSRF)', () => {
  it('refuses a receiver on loopback without the allow-list, and delivers to it once allowed', async () => {
    const url = `http://127.0.0.1:${loopback.port}/hook`;
    expect(await sendTest(url)).toMatchObject({ status: 'failed', category: 'blocked-address', statusCode: null });
    expect(loopback.hits).toEqual([]);

    process.env.STAGEBOOK_WEBHOOK_ALLOW = '127.0.0.1';
    try {
      expect(await sendTest(url)).toMatchObject({ status: 'delivered', category: null, statusCode: 200 });
      expect(loopback.hits).toEqual(['POST /hook']);
      process.env.STAGEBOOK_WEBHOOK_ALLOW = '127.0.0.0/8';
      expect(await sendTest(url)).toMatchObject({ status: 'delivered' });
      process.env.STAGEBOOK_WEBHOOK_ALLOW = 'localhost';
      expect(await sendTest(`http://localhost:${loopback.port}/hook`)).toMatchObject({ status: 'delivered' });
    } finally {
      delete process.env.STAGEBOOK_WEBHOOK_ALLOW;
    }
    loopback.hits.length = 0;
  });

  it('refuses loopback however the URL spells it, and names that resolve to it', async () => {
    const p = loopback.port;
    for (const url of [
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://2130706433:${p}/`,
      `http://0x7f.1:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://127.1:${p}/`,
      `http://[::1]:${p}/`,
      `http://[::127.0.0.1]:${p}/`,
      `http://0.0.0.0:${p}/`,
      `http://localhost:${p}/`,
    ]) {
      const r = await sendTest(url);
      expect({ url, status: r.status, category: r.category }).toEqual({ url, status: 'failed', category: 'blocked-address' });
    }
    expect(loopback.hits).toEqual([]);
  });

  it('refuses the cloud metadata address, private, CGNAT and unique-local ones without sending', async () => {
    const started = Date.now();
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://10.1.2.3/', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://[fd00:ec2::254]/', 'http://[fe80::1]/']) {
      const r = await sendTest(url);
      expect({ url, category: r.category }).toEqual({ url, category: 'blocked-address' });
    }
    // Refused before any connection: none of them waited for a timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not follow a redirect from an allowed receiver to loopback', async () => {
    const redirector = await receiver('127.0.0.2', (res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${loopback.port}/internal` });
      res.end();
    });
    try {
      const settings = { ...notificationSettings({ STAGEBOOK_WEBHOOK_ALLOW: '127.0.0.2' }) };
      await callerFor(t.db, deployer).notifications.create({ projectId, name: 'redirecting', kind: 'webhook', url: `http://127.0.0.2:${redirector.port}/hook` });
      const { deliveryId } = await enqueueNotification({ ctx: ctxFor(t.db, deployer), projectId, channel: 'redirecting', event: 'test', payload: {} });
      const r = await attemptDelivery(t.db, deliveryId, { settings, final: true });
      expect(r).toMatchObject({ status: 'failed', statusCode: 307, category: 'redirect' });
      expect(redirector.hits).toEqual(['POST /hook']);
      expect(loopback.hits).toEqual([]);
    } finally {
      await redirector.close();
    }
  });

  it("answers Send test with a category, never the receiver's error text or body", async () => {
    const chatty = await receiver('127.0.0.1', (res) => {
      res.writeHead(500);
      res.end('redis 6.2 at 10.0.0.7: secret internal detail');
    });
    process.env.STAGEBOOK_WEBHOOK_ALLOW = '127.0.0.1';
    try {
      const failed = await sendTest(`http://127.0.0.1:${chatty.port}/`);
      expect(failed).toMatchObject({ status: 'failed', category: 'server-error', statusCode: 500 });
      expect(JSON.stringify(failed)).not.toMatch(/redis|secret|10\.0\.0\.7/);
      await chatty.close();
      const closed = await sendTest(`http://127.0.0.1:${chatty.port}/`);
      expect(closed).toMatchObject({ status: 'failed', category: 'unreachable', statusCode: null });
      expect(JSON.stringify(closed)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    } finally {
      delete process.env.STAGEBOOK_WEBHOOK_ALLOW;
    }
  });
  it("keeps only a standard status line of a refusal: never the receiver's body or reason text", async () => {
    const chatty = await receiver('127.0.0.1', (res) => {
      res.writeHead(502, 'Upstream 10.0.0.7:6379 said NOAUTH', { 'content-type': 'text/html' });
      res.end(`<script>alert(1)</script> redis 6.2 at 10.0.0.7: secret internal detail ${'x'.repeat(100_000)}`);
    });
    try {
      const settings = notificationSettings({ STAGEBOOK_WEBHOOK_ALLOW: '127.0.0.1' });
      await callerFor(t.db, deployer).notifications.create({ projectId, name: 'chatty', kind: 'webhook', url: `http://127.0.0.1:${chatty.port}/hook` });
      const { deliveryId } = await enqueueNotification({ ctx: ctxFor(t.db, deployer), projectId, channel: 'chatty', event: 'test', payload: {} });
      const r = await attemptDelivery(t.db, deliveryId, { settings, final: true });
      expect(r).toMatchObject({ status: 'failed', statusCode: 502 });
      const [row] = await t.query('select last_error from notification_deliveries where id = $1', [deliveryId]);
      expect(row).toEqual({ last_error: 'HTTP 502 Bad Gateway' });
      const listed = await callerFor(t.db, deployer).notifications.list({ projectId });
      expect(JSON.stringify(listed)).not.toMatch(/redis|secret|NOAUTH|10\.0\.0\.7|script/);
    } finally {
      await chatty.close();
    }
  });
});

describe('the address rules', () => {
  it('allows public unicast addresses only, unless the allow-list names them', () => {
    const cases: [string, string | null][] = [
      ['8.8.8.8', null],
      ['2606:4700:4700::1111', null],
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['169.254.169.254', 'link-local (cloud metadata)'],
      ['100.100.100.200', 'carrier-grade NAT'],
      ['fd12:3456::1', 'unique-local'],
      ['0.0.0.0', 'unspecified'],
      ['255.255.255.255', 'broadcast'],
      ['224.0.0.1', 'multicast'],
      ['64:ff9b::7f00:1', 'special-purpose (rfc6052)'],
    ];
    expect(cases.map(([a]) => [a, refusedRange(a, EMPTY_ALLOW_LIST)])).toEqual(cases);
    const allow = parseWebhookAllowList('hooks.corp.example, 10.20.0.0/16, [fd00::1]');
    expect(refusedRange('10.20.3.4', allow)).toBeNull();
    expect(refusedRange('::ffff:10.20.3.4', allow)).toBeNull();
    expect(refusedRange('10.21.0.1', allow)).toBe('private');
    expect(refusedRange('fd00::1', allow)).toBeNull();
    expect(() => parseWebhookAllowList('10.0.0.0/99')).toThrow(/"10.0.0.0\/99" is not a CIDR/);
    expect(() => parseWebhookAllowList('hooks corp')).toThrow(/is not a host name, an address or a CIDR/);
  });
});
