/**
 * Notification channels in the browser: add a webhook channel pointing at a receiver in this test
 * process, copy its signing secret, Send test and see it delivered (and the request verify), see a
 * failing receiver's answer inline, then delete a channel. A real server (child process,
 * embedded PostgreSQL); screenshots go to tests/e2e/screenshots/notifications-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '@/server/services/notifications/signature';
import type { BrowserSession } from '../helpers/browser';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { ensureNextBuild, startServer, type ServerChild } from './server';
import { accountWithProject, signedInBrowser } from './setup';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const grace = { email: 'grace@example.com', name: 'Grace Hopper', password: 'cobol-compiler-1959' };

describe('notification channels in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let projectId: string;
  let hook: WebhookReceiver;
  let failing: WebhookReceiver;
  let secret = '';

  const shot = async (name: string) => {
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 10_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    hook = await startWebhookReceiver('/hooks/stagebook');
    failing = await startWebhookReceiver('/hooks/gone');
    failing.fallback = { status: 404, body: 'no such hook' };
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    const account = await accountWithProject(server.baseUrl, grace, { team: 'Risk Analytics', project: 'Credit scoring' });
    const cookie = account.cookie;
    projectId = account.projectId;
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await hook?.close();
    await failing?.close();
  }, 60_000);

  it('adds a webhook channel from the Notifications tab and shows its signing secret once', async () => {
    await page.goto(`/projects/${projectId}`);
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Notifications' }).click();
    await page.waitForURL(/\/notifications$/);
    await page.getByText('No notification channels yet.').waitFor();
    await page.getByText('Nothing sent yet.').waitFor();
    await shot('notifications-01-empty');

    const form = page.getByRole('form', { name: 'Add a channel' });
    await form.locator('input[name=channelName]').fill('ops-alerts');
    await form.getByLabel('URL').fill(hook.url);
    await form.getByRole('button', { name: 'Add channel' }).click();

    const box = page.getByRole('region', { name: 'New Signing secret' });
    await box.getByText('Webhook “ops-alerts” created').waitFor();
    secret = await box.getByLabel('Signing secret').inputValue();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    const row = page.locator('tr[data-channel="ops-alerts"]');
    await row.getByText(hook.url).waitFor();
    await row.getByText('Never').waitFor();
    await shot('notifications-02-created');

    await box.getByRole('button', { name: 'Done' }).click();
    await box.waitFor({ state: 'detached' });
  }, 60_000);

  it('sends a test and shows it delivered; the receiver gets a request whose signature verifies', async () => {
    const row = page.locator('tr[data-channel="ops-alerts"]');
    await row.getByRole('button', { name: 'Send test' }).click();
    const result = row.getByRole('status', { name: 'Test result' });
    await result.getByText('delivered').waitFor();
    expect(await result.textContent()).toContain('HTTP 200');

    expect(hook.received).toHaveLength(1);
    const req = hook.received[0]!;
    expect(req.headers['x-stagebook-event']).toBe('test');
    expect(verifyWebhook(secret, { timestamp: req.headers['x-stagebook-timestamp'] as string, signature: req.headers['x-stagebook-signature'] as string }, req.body)).toBe(true);
    const body = JSON.parse(req.body) as { project: { name: string }; channel: string };
    expect(body).toMatchObject({ project: { name: 'Credit scoring' }, channel: 'ops-alerts' });

    // The row's last delivery and the deliveries table follow.
    await row.locator('.notif-last').getByText('delivered').waitFor();
    const deliveries = page.getByRole('table', { name: 'Recent deliveries' });
    const delivered = deliveries.locator(`tr[data-delivery="${req.headers['x-stagebook-delivery'] as string}"]`);
    await delivered.getByText('delivered').waitFor();
    expect(await delivered.textContent()).toMatch(/ops-alerts.*test.*delivered.*1.*HTTP 200/);
    await shot('notifications-03-test-delivered');
  }, 60_000);

  it('shows a failing receiver’s status and a category inline (never its body), and the failure in the deliveries table', async () => {
    const form = page.getByRole('form', { name: 'Add a channel' });
    await form.locator('input[name=channelName]').fill('old-hook');
    await form.getByLabel('URL').fill(failing.url);
    await form.getByRole('button', { name: 'Add channel' }).click();
    await page.getByRole('region', { name: 'New Signing secret' }).getByRole('button', { name: 'Done' }).click();

    const row = page.locator('tr[data-channel="old-hook"]');
    await row.getByRole('button', { name: 'Send test' }).click();
    const result = row.getByRole('status', { name: 'Test result' });
    await result.getByText('failed').waitFor();
    expect(await result.textContent()).toMatch(/HTTP 404.*the receiver refused the message/);
    expect(await result.textContent()).not.toContain('no such hook');
    await page.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr').filter({ hasText: 'old-hook' }).getByText('failed').waitFor();

    // A bad URL is refused with the server's sentence.
    await form.locator('input[name=channelName]').fill('typo');
    await form.getByLabel('URL').fill('ftp://example.com/hook');
    await form.getByRole('button', { name: 'Add channel' }).click();
    await form.getByRole('alert').filter({ hasText: 'webhook URL must be an http:// or https:// URL' }).waitFor();
    await shot('notifications-04-failed-test');
  }, 60_000);

  it('deletes a channel after confirming, without client errors', async () => {
    const row = page.locator('tr[data-channel="old-hook"]');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Delete channel' }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('tr[data-channel="ops-alerts"]').waitFor();
    expect(await page.getByRole('table', { name: 'Recent deliveries' }).locator('tbody tr').filter({ hasText: 'old-hook' }).count()).toBe(0);
    // The one failed request is the bad URL we sent on purpose; Chromium logs every 4xx.
    expect(pageErrors.filter((e) => !/status of 400 .*notifications\.create/.test(e))).toEqual([]);
  }, 60_000);
});
