/**
 * What the browser tests share: an account with a team and a project made over the API (setup the
 * test is not about), a browser signed in as it, pasting into Monaco, and a screenshot of the page
 * when a step fails.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { collectPageErrors, launchBrowser, type BrowserSession, type LaunchOptions } from '../helpers/browser';
import { trpcMutation } from './server';

export type TestUser = { email: string; name: string; password: string };

/** Signs up over tRPC, then signs in (sign-up sets no session), and returns the session cookie (`sb_session=...`). */
export async function signUp(baseUrl: string, user: TestUser): Promise<string> {
  const post = (path: string, json: unknown) => fetch(`${baseUrl}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json }) });
  const up = await post('auth.signUp', user);
  if (!up.ok) throw new Error(`sign-up failed: ${up.status} ${await up.text()}`);
  const res = await post('auth.signIn', { email: user.email, password: user.password });
  const set = res.headers.getSetCookie().find((c) => c.startsWith('sb_session='));
  if (!res.ok || !set) throw new Error(`sign-in after sign-up failed: ${res.status} ${await res.text()}`);
  return set.split(';')[0]!;
}

/** A new account owning a team with one project. */
export async function accountWithProject(baseUrl: string, user: TestUser, names: { team: string; project: string }): Promise<{ cookie: string; teamId: string; projectId: string }> {
  const cookie = await signUp(baseUrl, user);
  const team = (await trpcMutation(baseUrl, 'teams.create', { name: names.team }, cookie)) as { id: string };
  const project = (await trpcMutation(baseUrl, 'projects.create', { teamId: team.id, name: names.project }, cookie)) as { id: string };
  return { cookie, teamId: team.id, projectId: project.id };
}

/** Uploads a CSV file as a source dataset through the REST route the upload dialog uses. */
export async function uploadCsv(baseUrl: string, cookie: string, projectId: string, name: string, file: string): Promise<void> {
  const res = await fetch(`${baseUrl}/api/v1/projects/${projectId}/datasets?name=${name}`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: readFileSync(file) });
  if (!res.ok) throw new Error(`upload of ${name} failed: ${res.status} ${await res.text()}`);
}

/** A browser whose context carries the session cookie, collecting client-side errors from its page. */
export async function signedInBrowser(baseUrl: string, cookie: string, opts: LaunchOptions = {}): Promise<{ browser: BrowserSession; page: Page; pageErrors: string[] }> {
  const browser = await launchBrowser({ baseURL: baseUrl, ...opts });
  const pageErrors = collectPageErrors(browser.page);
  const [name, ...value] = cookie.split('=');
  await browser.context.addCookies([{ name: name!, value: value.join('='), url: baseUrl }]);
  return { browser, page: browser.page, pageErrors };
}

/**
 * Pastes into the focused editor, as a person pasting a snippet would: typing (even insertText) goes
 * through Monaco's auto-indent, which would re-indent YAML line by line.
 */
export async function paste(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    document.activeElement?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

export const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');

/**
 * A full-page screenshot into tests/e2e/screenshots once nothing is loading, taken from the top: a
 * full-page shot of a scrolled page draws the sticky top bar where the viewport was.
 */
export async function fullPageShot(page: Page, name: string, loadingTimeoutMs = 15_000): Promise<void> {
  await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: loadingTimeoutMs });
  await page.evaluate(() => window.scrollTo(0, 0));
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** For `afterEach`: what the page showed when a step failed (tests/.tmp is not committed). */
export async function screenshotOnFailure(page: Page | undefined, prefix: string, task: { name: string; result?: { state?: string } }): Promise<void> {
  if (task.result?.state !== 'fail' || !page) return;
  const dir = path.join(import.meta.dirname, '../.tmp/failed-screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${prefix}-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`), fullPage: true }).catch(() => undefined);
}

/**
 * Without SMTP nobody can confirm an email, so a team admin approves the invitation of someone who
 * signed up after being invited (what the Members page's Approve button does).
 */
export async function approveInvitation(baseUrl: string, adminCookie: string, teamId: string, email: string): Promise<void> {
  const input = encodeURIComponent(JSON.stringify({ json: { teamId } }));
  const res = await fetch(`${baseUrl}/trpc/teams.members?input=${input}`, { headers: { cookie: adminCookie } });
  const members = ((await res.json()) as { result: { data: { json: { invitations: { id: string; email: string }[] } } } }).result.data.json;
  const invitation = members.invitations.find((i) => i.email === email);
  if (invitation) await trpcMutation(baseUrl, 'teams.approveInvitation', { teamId, invitationId: invitation.id }, adminCookie);
}
