/**
 * The start of the model browser tests: a server (child process, embedded PostgreSQL), Ada signed
 * up with a team and a "Credit scoring" project holding the credit data as `credit`, and a browser
 * signed in as her. Screenshots go to tests/e2e/screenshots/.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { signUp } from './setup';

export const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
export const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };

export type CreditSession = { server: ServerChild; browser: BrowserSession; page: Page; pageErrors: string[]; cookie: string; projectId: string };

export async function startCreditSession(): Promise<CreditSession> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  ensureNextBuild();
  const server = await startServer({ readyTimeoutMs: 180_000 });
  const cookie = await signUp(server.baseUrl, ada);
  const team = (await trpcMutation(server.baseUrl, 'teams.create', { name: 'Risk Analytics' }, cookie)) as { id: string };
  const projectId = ((await trpcMutation(server.baseUrl, 'projects.create', { teamId: team.id, name: 'Credit scoring' }, cookie)) as { id: string }).id;
  const upload = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets?name=credit`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: readFileSync(creditDataCsv) });
  if (!upload.ok) throw new Error(`upload failed: ${upload.status} ${await upload.text()}`);
  const browser = await launchBrowser({ baseURL: server.baseUrl });
  const page = browser.page;
  const pageErrors = collectPageErrors(page);
  const [name, ...value] = cookie.split('=');
  await browser.context.addCookies([{ name: name!, value: value.join('='), url: server.baseUrl }]);
  return { server, browser, page, pageErrors, cookie, projectId };
}

/** A full-page screenshot once nothing is loading, from the top (a scrolled full-page shot draws the sticky bar where the viewport was). */
export async function fullShot(page: Page, name: string): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 10_000 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
