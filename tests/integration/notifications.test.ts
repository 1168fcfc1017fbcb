import net, { type AddressInfo } from 'node:net';
import { asc, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, notificationDeliveries, runs, teamMembers } from '@/db/schema';
import type { Actor } from '@/server/services/context';
import { attemptDelivery } from '@/server/services/notifications/deliver';
import { enqueueNotification } from '@/server/services/notifications/enqueue-notification';
import type { NotificationPayload } from '@/server/services/notifications/payload';
import { notificationSettings, type NotificationSettings } from '@/server/services/notifications/settings';
import { verifyWebhook } from '@/server/services/notifications/signature';
import { NOTIFICATION_MAX_ATTEMPTS } from '@/workflows/shared/notifications';
import { callerFor, ctxFor, newUser, trpcCode } from '../helpers/api';
import { drivers, openTestDatabase, type TestDatabase } from '../helpers/db';
import { readableMail, startSmtpReceiver, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from '../helpers/notifications';

type User = Extract<Actor, { type: 'user' }>;

// The receivers of these tests listen on loopback, which webhooks may reach only when allowed.
const baseSettings: NotificationSettings = { ...notificationSettings({ STAGEBOOK_WEBHOOK_ALLOW: '127.0.0.1' }), publicUrl: 'https://stagebook.example.com/' };

/** Attempts a delivery the way Temporal runs the activity: again after each transient failure, the last one final. */
async function deliverLikeTemporal(t: TestDatabase, deliveryId: string, settings: NotificationSettings, maxAttempts = NOTIFICATION_MAX_ATTEMPTS) {
  for (let attempt = 1; ; attempt++) {
    const r = await attemptDelivery(t.db, deliveryId, { settings, final: attempt >= maxAttempts });
    if (!r.retry) return { ...r, calls: attempt };
  }
}

describe.each(drivers)('notification channels on %s', (driver) => {
  let t: TestDatabase;
  let admin: User;
  let deployer: User;
  let viewer: User;
  let projectId: string;
  let teamId: string;
  let hook: WebhookReceiver;
  let smtp: SmtpReceiver;
  const savedEnv = { SMTP_URL: process.env.SMTP_URL, SMTP_FROM: process.env.SMTP_FROM };

  beforeAll(async () => {
    t = await openTestDatabase(driver);
    admin = await newUser(t.db, 'admin');
    const team = await callerFor(t.db, admin).teams.create({ name: 'Notify' });
    teamId = team.id;
    projectId = (await callerFor(t.db, admin).projects.create({ teamId, name: 'Churn' })).id;
    deployer = await newUser(t.db, 'deployer');
    viewer = await newUser(t.db, 'viewer');
    await t.db.insert(teamMembers).values([
      { teamId, userId: deployer.userId, role: 'deployer' },
      { teamId, userId: viewer.userId, role: 'viewer' },
    ]);
    hook = await startWebhookReceiver();
    smtp = await startSmtpReceiver({ rejectRecipient: 'nobody@example.com' });
  });
  afterEach(() => {
    hook.received.length = 0;
    hook.fallback = { status: 200, body: 'ok' };
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  afterAll(async () => {
    await hook?.close();
    await smtp?.close();
    await t?.dispose();
  });

  const deliveryRow = async (id: string) => (await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.id, id)))[0]!;

  it('creates a webhook channel, shows its signing secret once and audits the creation', async () => {
    const created = await callerFor(t.db, deployer).notifications.create({ projectId, name: 'ops-hook', kind: 'webhook', url: hook.url });
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'ops-hook', kind: 'webhook', target: hook.url });

    const listed = await callerFor(t.db, deployer).notifications.list({ projectId });
    expect(listed.map((c) => c.name)).toEqual(['ops-hook']);
    expect(JSON.stringify(listed)).not.toContain(created.signingSecret!);
    expect(listed[0]).toMatchObject({ kind: 'webhook', target: hook.url, lastDelivery: null, createdBy: deployer.email });

    const [audit] = await t.db.select().from(auditEvents).where(eq(auditEvents.targetId, created.id));
    expect(audit).toMatchObject({ action: 'notification_channel.create', actorId: deployer.userId, projectId, teamId });
    expect(audit!.details).toEqual({ name: 'ops-hook', kind: 'webhook', target: hook.url });
    expect(JSON.stringify(audit!.details)).not.toContain('whsec_');
  });

  it('sends a test webhook with the JSON body, event and delivery headers, and a signature that verifies', async () => {
    const secret = (await callerFor(t.db, deployer).notifications.create({ projectId, name: 'signed', kind: 'webhook', url: hook.url })).signingSecret!;
    const result = await callerFor(t.db, deployer).notifications.test({ projectId, name: 'signed' });
    expect(result).toMatchObject({ status: 'delivered', attempts: 1, statusCode: 200, error: null });

    expect(hook.received).toHaveLength(1);
    const req = hook.received[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hooks/stagebook');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-stagebook-event']).toBe('test');
    expect(req.headers['x-stagebook-delivery']).toBe(result.deliveryId);
    const timestamp = req.headers['x-stagebook-timestamp'] as string;
    expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(30);
    const signature = req.headers['x-stagebook-signature'] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhook(secret, { timestamp, signature }, req.body)).toBe(true);
    expect(verifyWebhook(secret, { timestamp, signature }, req.body.replace('Churn', 'Chum'))).toBe(false);
    expect(verifyWebhook(`${secret}x`, { timestamp, signature }, req.body)).toBe(false);

    const body = JSON.parse(req.body) as NotificationPayload;
    expect(body).toMatchObject({ id: result.deliveryId, event: 'test', project: { id: projectId, name: 'Churn' }, channel: 'signed', runId: null, runUrl: null });
    expect(body.message).toContain(deployer.email);

    const row = await deliveryRow(result.deliveryId);
    expect(row).toMatchObject({ status: 'delivered', attempts: 1, event: 'test', lastError: null, lastStatusCode: 200 });
    expect(row.deliveredAt).toBeInstanceOf(Date);
    const [audit] = await t.db.select().from(auditEvents).where(eq(auditEvents.action, 'notification_channel.test'));
    expect(audit!.details).toMatchObject({ name: 'signed', deliveryId: result.deliveryId });

    const listed = await callerFor(t.db, viewer).notifications.list({ projectId });
    expect(listed.find((c) => c.name === 'signed')!.lastDelivery).toMatchObject({ status: 'delivered', event: 'test', statusCode: 200 });
  });

  it('retries a receiver that answers 500 twice, then delivers once, recorded with attempts=3 and the run link', async () => {
    const [run] = await t.db.insert(runs).values({ projectId, kind: 'build', workflowId: `build-notify-${driver}`, createdBy: 'test' }).returning();
    hook.script({ status: 500, body: 'upstream down' }, { status: 502, body: 'bad gateway' });
    const { deliveryId, created } = await enqueueNotification({
      ctx: ctxFor(t.db, { type: 'workflow', workflowId: 'scenario-test' }),
      projectId,
      channel: 'ops-hook',
      event: 'scenario.failed',
      payload: { message: 'nightly failed at step build', scenario: 'nightly' },
      runId: run!.id,
      settings: baseSettings,
    });
    expect(created).toBe(true);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'pending', attempts: 0 });

    const result = await deliverLikeTemporal(t, deliveryId, baseSettings);
    expect(result).toMatchObject({ status: 'delivered', attempts: 3, statusCode: 200, calls: 3 });
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.headers['x-stagebook-delivery']))).toEqual(new Set([deliveryId]));
    const body = JSON.parse(hook.received[2]!.body) as NotificationPayload;
    expect(body).toMatchObject({ event: 'scenario.failed', runId: run!.id, message: 'nightly failed at step build', data: { scenario: 'nightly' } });
    expect(body.runUrl).toBe(`https://stagebook.example.com/projects/${projectId}/builds/${run!.id}`);
    expect(await deliveryRow(deliveryId)).toMatchObject({ status: 'delivered', attempts: 3, lastError: null, lastStatusCode: 200 });

    // Delivered is final: a re-delivered activity sends nothing more.
    expect(await attemptDelivery(t.db, deliveryId, { settings: baseSettings, final: false })).toMatchObject({ status: 'delivered', attempts: 3, retry: false });
    expect(hook.received).toHaveLength(3);
  });

  it('treats a 400 as permanent: one attempt, recorded failed with its status line (not the receiver’s body)', async () => {
    hook.fallback = { status: 400, body: `{"error":"unknown field ${'x'.repeat(1000)}"}` };
    const { deliveryId } = await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'ops-hook', event: 'gate.decision', payload: { promoted: false } });
    const result = await deliverLikeTemporal(t, deliveryId, baseSettings);
    expect(result).toMatchObject({ status: 'failed', attempts: 1, statusCode: 400, calls: 1 });
    const row = await deliveryRow(deliveryId);
    expect(row).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 400 });
    expect(row.lastError).toBe('HTTP 400 Bad Request');
    expect(hook.received).toHaveLength(1);
  });

  it('retries 408, 429 and timeouts, and records the last transient failure as failed when attempts run out', async () => {
    hook.script({ status: 429, body: 'slow down', headers: { 'retry-after': '7' } });
    const first = await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'ops-hook', event: 'scenario.succeeded', payload: {} });
    const throttled = await attemptDelivery(t.db, first.deliveryId, { settings: baseSettings, final: false });
    expect(throttled).toMatchObject({ status: 'pending', retry: true, statusCode: 429, retryAfterMs: 7000, attempts: 1 });

    hook.fallback = { status: 200, delayMs: 1_000 };
    const fast = { ...baseSettings, timeoutMs: 200 };
    const second = await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'ops-hook', event: 'scenario.succeeded', payload: {} });
    const result = await deliverLikeTemporal(t, second.deliveryId, fast, 2);
    expect(result).toMatchObject({ status: 'failed', attempts: 2, statusCode: null, calls: 2 });
    expect(result.error).toBe('gave up after 2 attempts: no answer within 0.2 s');

    hook.fallback = { status: 408 };
    const third = await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'ops-hook', event: 'scenario.succeeded', payload: {} });
    expect(await attemptDelivery(t.db, third.deliveryId, { settings: baseSettings, final: false })).toMatchObject({ status: 'pending', retry: true, statusCode: 408 });
  });

  it('reports a refused connection at once from Send test', async () => {
    const closed = await startWebhookReceiver();
    await closed.close();
    await callerFor(t.db, deployer).notifications.create({ projectId, name: 'nowhere', kind: 'webhook', url: closed.url });
    const result = await callerFor(t.db, deployer).notifications.test({ projectId, name: 'nowhere' });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, statusCode: null, category: 'unreachable' });
    // A category, not the socket's error: Send test must not tell open ports from closed ones.
    expect(result.error).not.toMatch(/ECONNREFUSED/);
  });

  it('refuses an email channel while SMTP_URL is unset, saying to set it', async () => {
    delete process.env.SMTP_URL;
    const attempt = callerFor(t.db, deployer).notifications.create({ projectId, name: 'team-mail', kind: 'email', to: ['ops@example.com'] });
    await expect(attempt).rejects.toMatchObject({ code: 'PRECONDITION_FAILED', message: expect.stringMatching(/set SMTP_URL/) });
  });

  it('emails the recipients through SMTP with the subject and the run link', async () => {
    process.env.SMTP_URL = smtp.url;
    process.env.SMTP_FROM = 'Stagebook <stagebook@example.com>';
    const created = await callerFor(t.db, deployer).notifications.create({ projectId, name: 'team-mail', kind: 'email', to: ['Ops@Example.com', 'ml@example.com'] });
    expect(created).toMatchObject({ kind: 'email', target: 'ops@example.com, ml@example.com', signingSecret: null });

    const [run] = await t.db.insert(runs).values({ projectId, kind: 'hello', workflowId: `hello-notify-${driver}`, createdBy: 'test' }).returning();
    const { deliveryId } = await enqueueNotification({
      ctx: ctxFor(t.db, { type: 'workflow', workflowId: 'scenario-test' }),
      projectId,
      channel: 'team-mail',
      event: 'scenario.failed',
      payload: { message: 'Check "loans_clean" failed: 12 rows with a negative amount', scenario: 'nightly' },
      runId: run!.id,
      settings: { ...baseSettings, smtpUrl: smtp.url, smtpFrom: 'Stagebook <stagebook@example.com>' },
    });
    const before = smtp.mails.length;
    const result = await deliverLikeTemporal(t, deliveryId, { ...baseSettings, smtpUrl: smtp.url, smtpFrom: 'Stagebook <stagebook@example.com>' });
    expect(result).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(smtp.mails).toHaveLength(before + 1);
    const mail = smtp.mails.at(-1)!;
    expect(mail.from).toBe('stagebook@example.com');
    expect(mail.to.sort()).toEqual(['ml@example.com', 'ops@example.com']);
    const text = readableMail(mail.raw);
    expect(text).toMatch(/^Subject: \[Stagebook\] Churn: Scenario "nightly" failed$/m);
    expect(text).toMatch(/^To: ops@example\.com, ml@example\.com$/m);
    expect(text).toContain(`Run: https://stagebook.example.com/projects/${projectId}/runs/${run!.id}`);
    expect(text).toContain(`<a href="https://stagebook.example.com/projects/${projectId}/runs/${run!.id}">Open the run</a>`);
    expect(text).toContain('12 rows with a negative amount');
    expect(text).toMatch(/^X-Stagebook-Delivery: [0-9a-f-]{36}$/m);

    // Send test goes through the same path, with the server's SMTP settings from the environment.
    const test = await callerFor(t.db, deployer).notifications.test({ projectId, name: 'team-mail' });
    expect(test).toMatchObject({ status: 'delivered', attempts: 1 });
    expect(smtp.mails).toHaveLength(before + 2);
  });

  it('treats an SMTP server that accepts the connection but never greets as a transient failure, within the timeout', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const { deliveryId } = await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'team-mail', event: 'scenario.failed', payload: {} });
      const started = Date.now();
      const result = await attemptDelivery(t.db, deliveryId, { settings: { ...baseSettings, smtpUrl: url, timeoutMs: 300 }, final: false });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(result).toMatchObject({ status: 'pending', retry: true, attempts: 1 });
      expect(result.error).toMatch(/greeting|timeout/i);
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('records a recipient the SMTP server refuses as a permanent failure', async () => {
    process.env.SMTP_URL = smtp.url;
    await callerFor(t.db, deployer).notifications.create({ projectId, name: 'bounce', kind: 'email', to: ['nobody@example.com'] });
    const result = await callerFor(t.db, deployer).notifications.test({ projectId, name: 'bounce' });
    expect(result).toMatchObject({ status: 'failed', attempts: 1, statusCode: 550, category: 'rejected' });
  });

  it('refuses bad input with a clear error naming the field', async () => {
    const caller = callerFor(t.db, deployer);
    const expectBad = async (p: Promise<unknown>, code: string, message: RegExp) => {
      await expect(p).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    };
    await expectBad(caller.notifications.create({ projectId, name: 'a', kind: 'webhook', url: 'ftp://example.com/x' }), 'BAD_REQUEST', /^url: webhook URL must be an http:\/\/ or https:\/\/ URL$/);
    await expectBad(caller.notifications.create({ projectId, name: 'a', kind: 'webhook', url: 'example.com/hook' }), 'BAD_REQUEST', /webhook URL must be an http/);
    process.env.SMTP_URL = smtp.url;
    await expectBad(caller.notifications.create({ projectId, name: 'a', kind: 'email', to: ['ok@example.com', 'not-an-email'] }), 'BAD_REQUEST', /^to\.1: "not-an-email" is not an email address$/);
    await expectBad(caller.notifications.create({ projectId, name: 'a', kind: 'email', to: [] }), 'BAD_REQUEST', /to: give at least one recipient/);
    await expectBad(caller.notifications.create({ projectId, name: 'Ops Hook', kind: 'webhook', url: hook.url }), 'BAD_REQUEST', /^name: channel name must be a lowercase name/);
    await expectBad(caller.notifications.create({ projectId, name: 'ops-hook', kind: 'webhook', url: hook.url }), 'CONFLICT', /a notification channel named "ops-hook" already exists/);
    await expectBad(caller.notifications.create({ projectId, name: 'x', kind: 'sms' } as never), 'BAD_REQUEST', /kind must be webhook or email/);
    await expectBad(caller.notifications.test({ projectId, name: 'no-such' }), 'NOT_FOUND', /notification channel "no-such" was not found/);
    await expect(enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'ops-hook', event: 'scenario.failed', payload: {}, runId: '11111111-1111-4111-8111-111111111111' })).rejects.toMatchObject({
      kind: 'Invalid',
      message: expect.stringMatching(/run .* does not exist in this project/),
    });
  });

  it('lets viewers read channels (webhook URLs cut to their origin) and deliveries, but not change or test them', async () => {
    const asViewer = callerFor(t.db, viewer);
    const listed = await asViewer.notifications.list({ projectId });
    expect(listed.find((c) => c.name === 'ops-hook')!.target).toBe(`${new URL(hook.url).origin}/…`);
    const deliveries = await asViewer.notifications.deliveries({ projectId, channel: 'ops-hook' });
    expect(deliveries.length).toBeGreaterThanOrEqual(4);
    expect(deliveries.every((d) => d.channel === 'ops-hook')).toBe(true);
    expect(deliveries.map((d) => d.createdAt.getTime())).toEqual([...deliveries.map((d) => d.createdAt.getTime())].sort((a, b) => b - a));
    const all = await asViewer.notifications.deliveries({ projectId });
    expect(new Set(all.map((d) => d.channel))).toEqual(new Set(['ops-hook', 'signed', 'nowhere', 'team-mail', 'bounce']));
    expect(await trpcCode(asViewer.notifications.create({ projectId, name: 'v', kind: 'webhook', url: hook.url }))).toBe('FORBIDDEN');
    expect(await trpcCode(asViewer.notifications.test({ projectId, name: 'ops-hook' }))).toBe('FORBIDDEN');
    expect(await trpcCode(asViewer.notifications.delete({ projectId, name: 'ops-hook' }))).toBe('FORBIDDEN');
  });

  it('keeps at most the 50 newest deliveries in the list', async () => {
    for (let i = 0; i < 52; i++) await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'signed', event: 'scenario.succeeded', payload: { i } });
    const listed = await callerFor(t.db, viewer).notifications.deliveries({ projectId, channel: 'signed' });
    expect(listed).toHaveLength(50);
    expect(listed.every((d) => d.status === 'pending')).toBe(true);
  });

  it('deletes a channel with its deliveries, audited; a pending delivery then finds nothing to send', async () => {
    const { deliveryId } = await enqueueNotification({ ctx: ctxFor(t.db, admin), projectId, channel: 'nowhere', event: 'scenario.failed', payload: {} });
    const deleted = await callerFor(t.db, deployer).notifications.delete({ projectId, name: 'nowhere' });
    expect((await callerFor(t.db, viewer).notifications.list({ projectId })).map((c) => c.name)).not.toContain('nowhere');
    expect(await t.db.select().from(notificationDeliveries).where(eq(notificationDeliveries.channelId, deleted.id))).toEqual([]);
    await expect(attemptDelivery(t.db, deliveryId, { settings: baseSettings, final: false })).rejects.toThrow(/does not exist/);
    const events = await t.db.select().from(auditEvents).where(eq(auditEvents.targetId, deleted.id)).orderBy(asc(auditEvents.seq));
    expect(events.map((e) => e.action)).toEqual(['notification_channel.create', 'notification_channel.test', 'notification_channel.delete']);
    expect(await trpcCode(callerFor(t.db, deployer).notifications.delete({ projectId, name: 'nowhere' }))).toBe('NOT_FOUND');
  });
});
