/**
 * What a newcomer meets in the first hour (issue 18): form errors beside their field, once; the role
 * legend as the server enforces it; the invite notice as typed; light and dark themes. Screenshots go
 * to tests/e2e/screenshots/polish-*.png.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { fullPageShot, screenshotOnFailure } from './setup';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';

const owner = { email: 'lin@example.com', name: 'Lin Polish', password: 'first-hour-polish-1' };

/** The page's computed background colour of <body>, as `rgb(r, g, b)`. */
const bodyBackground = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
const LIGHT_BG = 'rgb(247, 247, 248)';
const DARK_BG = 'rgb(15, 15, 18)';

describe('first-hour polish in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let teamId = '';

  beforeAll(async () => {
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 20_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 900_000);

  afterEach(async (ctx) => screenshotOnFailure(page, 'polish', ctx.task));

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('shows a form error under the field it is about, once, in a sentence', async () => {
    await page.goto('/sign-up');
    await page.getByLabel('Email', { exact: true }).fill(owner.email);
    await page.getByLabel('Name', { exact: true }).fill(owner.name);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    const passwordField = page.locator('.field').filter({ has: page.getByLabel('Password', { exact: true }) });
    await passwordField.locator('.field-error').filter({ hasText: /^Password must be at least 10 characters$/ }).waitFor();
    expect(await page.getByText('must be at least 10 characters').count()).toBe(1);
    expect(await page.locator('p.error').count()).toBe(0);
    expect(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await fullPageShot(page, 'polish-01-sign-up-field-error');

    await page.getByLabel('Password', { exact: true }).fill(owner.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/teams$/);

    await page.getByLabel('Team name').fill('   ');
    await page.getByRole('button', { name: 'Create team' }).click();
    const teamField = page.locator('.field').filter({ has: page.getByLabel('Team name') });
    await teamField.locator('.field-error').filter({ hasText: /^Name is required$/ }).waitFor();
    expect(await page.getByText('is required').count()).toBe(1);
    await fullPageShot(page, 'polish-02-team-name-required');

    await page.getByLabel('Team name').fill('Credit Risk');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.waitForURL(/\/teams\/[0-9a-f-]{36}$/);
    teamId = /\/teams\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
  });

  it('explains roles as the server enforces them and keeps an invited email as typed', async () => {
    await page.goto(`/teams/${teamId}/members`);
    // bundles.promote needs editor (server/api/routers/bundles.ts); deployments need deployer.
    const legend = page.locator('.role-legend');
    await legend.waitFor();
    const roleLine = async (role: string) => legend.locator('div').filter({ has: page.locator(`.badge-role-${role}`) }).textContent();
    expect(await roleLine('editor')).toContain('promotes bundles');
    expect(await roleLine('deployer')).not.toContain('promotes');
    expect(await roleLine('deployer')).toContain('deploys');
    await page.getByLabel('Email').fill('mixed.Case@example.com');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    const notice = page.locator('.notice').filter({ hasText: 'is invited as editor' });
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/^mixed\.Case@example\.com is invited as editor/);
    // What the reader sees: no stylesheet rule turns the email's first letter upper case.
    expect(await notice.evaluate((el) => getComputedStyle(el, '::first-letter').textTransform)).toBe('none');
    await fullPageShot(page, 'polish-03-members-light');
  });

  it('offers the project’s source datasets as ingest scopes to tick', async () => {
    const session = (await browser.context.cookies()).find((c) => c.name === 'sb_session')!;
    const cookie = `${session.name}=${session.value}`;
    const project = (await trpcMutation(server.baseUrl, 'projects.create', { teamId, name: 'Loans' }, cookie)) as { id: string };
    const csv = 'id,amount\n1,100\n2,250\n';
    const res = await fetch(`${server.baseUrl}/api/v1/projects/${project.id}/datasets?name=loans`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: csv });
    expect(res.status).toBeLessThan(300);

    await page.goto(`/projects/${project.id}/api-keys`);
    await page.getByLabel('Name', { exact: true }).fill('loader');
    await page.getByRole('checkbox', { name: /ingest:loans/ }).check();
    await fullPageShot(page, 'polish-06-api-key-scopes');
    await page.getByRole('button', { name: 'Create key' }).click();
    const row = page.locator('tr').filter({ hasText: 'loader' });
    await row.locator('.badge-scope').filter({ hasText: /^ingest:loans$/ }).waitFor();
    expect(await row.locator('.badge-scope').allTextContents()).toEqual(['ingest:loans', 'read']);
  });

    it('names the project of each event in the team log and expands details in place', async () => {
    await page.goto(`/teams/${teamId}/audit`);
    const row = page.locator('.audit-table tbody tr').filter({ has: page.locator('code.action', { hasText: /^apikey\.create$/ }) });
    await row.getByRole('link', { name: 'Loans' }).waitFor();
    const json = row.locator('.audit-details-json');
    expect(await json.isVisible()).toBe(false);
    await row.locator('.audit-details summary').click();
    await json.waitFor({ state: 'visible' });
    expect(JSON.parse((await json.textContent())!)).toMatchObject({ name: 'loader', scopes: ['ingest:loans', 'read'] });
    await fullPageShot(page, 'polish-07-team-audit');
  });

    it('follows the system colour scheme and remembers the toggle across reloads', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`/teams/${teamId}/members`);
    await page.getByLabel('Theme').waitFor();
    expect(await bodyBackground(page)).toBe(LIGHT_BG);

    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await bodyBackground(page)).toBe(DARK_BG);
    await fullPageShot(page, 'polish-04-members-dark-system');

    // The toggle overrides the system, and the choice survives a reload (first paint included).
    await page.getByLabel('Theme').selectOption('light');
    expect(await bodyBackground(page)).toBe(LIGHT_BG);
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    expect(await bodyBackground(page)).toBe(LIGHT_BG);
    expect(await page.getByLabel('Theme').inputValue()).toBe('light');

    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByLabel('Theme').selectOption('dark');
    expect(await bodyBackground(page)).toBe(DARK_BG);
    await page.goto(`/teams/${teamId}`);
    expect(await bodyBackground(page)).toBe(DARK_BG);
    await fullPageShot(page, 'polish-05-team-dark-toggle');

    await page.getByLabel('Theme').selectOption('system');
    expect(await bodyBackground(page)).toBe(LIGHT_BG);
    await page.reload();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBeUndefined();
    // The 400s are the deliberately invalid sign-up and team name of the first test.
    expect(pageErrors.filter((e) => !/status of 400 \(Bad Request\) at .*\/trpc\/(auth\.signUp|teams\.create)/.test(e))).toEqual([]);
  });
});
