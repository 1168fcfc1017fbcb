/**
 * The workspace UI end to end: a real server (child process, embedded PostgreSQL, its own Temporal dev
 * server) driven through headless Chromium. Each step leaves a screenshot in tests/e2e/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const owner = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };
const colleague = { email: 'grace@example.com', name: 'Grace Hopper', password: 'compiler-a0-1952' };
const newcomer = 'new.analyst@example.com';

describe('workspace in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  const at: { teamId?: string; projectId?: string } = {};

  const shot = async (name: string) => {
    // Wait for loading states to settle so the picture shows the page, not a spinner.
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 10_000 });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const goto = async (url: string) => {
    await page.goto(url);
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 15_000 });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchBrowser({ baseURL: server.baseUrl });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('sends a signed-out visitor from / to sign-in and shows the server’s sign-in error', async () => {
    await page.goto('/');
    await page.waitForURL(/\/sign-in\?next=%2Fteams$/);
    await page.getByLabel('Email', { exact: true }).fill(owner.email);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'email or password is wrong' }).waitFor();
    await shot('01-sign-in-error');
  });

  it('signs up after a rejected password and lands on an empty teams page', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.waitForURL(/\/sign-up/);
    await page.getByLabel('Email', { exact: true }).fill(owner.email);
    await page.getByLabel('Name', { exact: true }).fill(owner.name);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'Password must be at least 10 characters' }).waitFor();
    await shot('02-sign-up-error');

    await page.getByLabel('Password', { exact: true }).fill(owner.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/teams$/);
    await page.getByText('You are not in any team yet.').waitFor();
    expect(await page.locator('.user-email').textContent()).toBe(owner.email);
    await shot('03-teams-empty');
  });

  it('creates a team and a project in it', async () => {
    await page.getByLabel('Team name').fill('Risk Analytics');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.waitForURL(new RegExp(`/teams/${UUID}$`));
    at.teamId = page.url().split('/').pop();
    await page.getByRole('heading', { name: 'Risk Analytics' }).waitFor();
    await page.getByText('No projects yet.').waitFor();
    await shot('04-team-empty');

    await page.getByLabel('Name', { exact: true }).fill('Churn model');
    await page.getByLabel('Description').fill('Predicts which customers cancel in the next 30 days.');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID}$`));
    at.projectId = page.url().split('/').pop();
    await page.getByRole('heading', { name: 'Churn model' }).waitFor();
    await page.getByText('No runs yet.').waitFor();
    await page.getByText('No notebooks yet.').waitFor();
    await shot('05-project-new');

    await goto(`/teams/${at.teamId}`);
    await page.getByRole('link', { name: 'Churn model' }).waitFor();
    await shot('06-team-projects');
  });

  it('shows a new project as it is: nothing deployed, no endpoints, builds or scenario runs yet', async () => {
    await goto(`/projects/${at.projectId}`);
    await page.getByText('Nothing deployed yet.').waitFor();
    await page.getByText('No endpoints yet.').waitFor();
    await page.getByText('No builds yet.').waitFor();
    expect(await page.getByRole('button', { name: 'Start hello run' }).count()).toBe(0);
    await shot('07-project-overview-empty');
  });

  it('invites a member as editor, makes them a viewer, and keeps an invitation for an unknown email', async () => {
    await trpcMutation(server.baseUrl, 'auth.signUp', colleague);
    await goto(`/teams/${at.teamId}`);
    await page.getByRole('link', { name: 'Members' }).click();
    await page.waitForURL(new RegExp(`/teams/${at.teamId}/members$`));
    await page.getByText('No pending invitations.').waitFor();

    await page.getByLabel('Email', { exact: true }).fill(colleague.email);
    await page.locator('select[name=inviteRole]').selectOption('editor');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    // The colleague's account is unverified (no SMTP here): the invitation waits for an admin's approval.
    await page.getByText(`${colleague.email} is invited as editor; they join once they confirm their email, or when you approve them below.`).waitFor();
    const colleagueRow = page.getByRole('region', { name: 'Pending invitations' }).getByRole('row', { name: new RegExp(colleague.email) });
    await colleagueRow.getByRole('button', { name: 'Approve' }).click();
    await colleagueRow.getByRole('button', { name: 'Approve' }).click();
    const roleSelect = page.getByLabel(`Role of ${colleague.email}`);
    await roleSelect.waitFor();
    expect(await roleSelect.inputValue()).toBe('editor');

    await roleSelect.selectOption('viewer');
    await page.waitForFunction((email) => {
      const select = document.querySelector<HTMLSelectElement>(`select[aria-label="Role of ${email}"]`);
      return select && !select.disabled && select.value === 'viewer';
    }, colleague.email);

    await page.getByLabel('Email', { exact: true }).fill(newcomer);
    await page.locator('select[name=inviteRole]').selectOption('viewer');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.getByText(`${newcomer} is invited as viewer; they join once they confirm their email, or when you approve them below.`).waitFor();
    await page.getByRole('region', { name: 'Pending invitations' }).getByRole('cell', { name: newcomer }).waitFor();

    await page.reload();
    expect(await page.getByLabel(`Role of ${colleague.email}`).inputValue()).toBe('viewer');
    await shot('08-members');
  });

  it('explains why the last admin cannot be removed', async () => {
    const ownRow = page.getByRole('row').filter({ hasText: owner.email });
    await ownRow.getByRole('button', { name: 'Remove' }).click();
    await ownRow.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('alert').filter({ hasText: 'the last admin of a team cannot be removed' }).waitFor();
    await shot('09-members-last-admin');
  });

  it('creates an API key, shows its secret once, and revokes it', async () => {
    await goto(`/projects/${at.projectId}`);
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.waitForURL(new RegExp(`/projects/${at.projectId}/api-keys$`));
    await page.getByText('No API keys yet.').waitFor();
    await shot('10-api-keys-empty');

    await page.getByLabel('Name', { exact: true }).fill('ci-runner');
    expect(await page.locator('input[name=scope-read]').isChecked()).toBe(true);
    await page.locator('input[name=scope-run]').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretInput = page.getByTestId('api-key-secret');
    await secretInput.waitFor();
    const secret = await secretInput.inputValue();
    expect(secret).toMatch(/^sbk_/);
    await page.getByText('it will not be shown again').waitFor();
    const keyRow = page.getByRole('row').filter({ hasText: 'ci-runner' });
    await keyRow.getByText('Active').waitFor();
    expect(await keyRow.locator('.badge-scope').allTextContents()).toEqual(['read', 'run']);
    await shot('11-api-key-secret');

    await page.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    await keyRow.waitFor();
    expect(await page.content()).not.toContain(secret);

    await keyRow.getByRole('button', { name: 'Revoke' }).click();
    await keyRow.getByRole('button', { name: 'Revoke key' }).click();
    await keyRow.getByText(/^Revoked/).waitFor();
    expect(await keyRow.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await shot('12-api-keys-revoked');
  });

  it('lists every change in the team audit log and filters it by action', async () => {
    await goto(`/teams/${at.teamId}`);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(new RegExp(`/teams/${at.teamId}/audit$`));
    const actions = page.locator('.audit-table code.action');
    await actions.first().waitFor();
    const seen = new Set(await actions.allTextContents());
    for (const action of ['team.create', 'project.create', 'team.member_invite', 'team.member_role_change', 'apikey.create', 'apikey.revoke']) {
      expect(seen, `audit log shows ${action}`).toContain(action);
    }
    await shot('13-team-audit');

    await page.locator('select[name=action]').selectOption('team.member_invite');
    await page.waitForFunction(() => {
      const codes = [...document.querySelectorAll('.audit-table code.action')].map((c) => c.textContent);
      return codes.length > 0 && codes.every((c) => c === 'team.member_invite');
    });
    expect(await actions.count()).toBe(2);
    await page.locator('input[name=actor]').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No events match these filters.').waitFor();
    await shot('14-team-audit-filtered-empty');
  });

  it('pages through a long audit log with Load more', async () => {
    const cookie = (await browser.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    for (let i = 0; i < 50; i++) {
      await trpcMutation(server.baseUrl, 'teams.invite', { teamId: at.teamId, email: `bulk-${i}@example.com`, role: 'viewer' }, cookie);
    }
    await goto(`/teams/${at.teamId}/audit`);
    const rows = page.locator('.audit-table tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(50);
    await page.getByRole('button', { name: 'Load more' }).click();
    // The button reads "Loading…" while the next page is fetched: wait for the rows, not the button.
    await page.waitForFunction(() => document.querySelectorAll('.audit-table tbody tr').length > 50);
    expect(await page.getByRole('button', { name: /Load more|Loading/ }).count()).toBe(0);
    const total = await rows.count();
    expect(await page.getByText(`${total} events`, { exact: true }).count()).toBe(1);
    const seen = await page.locator('.audit-table code.action').allTextContents();
    expect(seen.at(-1)).toBe('team.create');
  });

  it('shows the project’s own audit log', async () => {
    await goto(`/projects/${at.projectId}/audit`);
    const actions = page.locator('.audit-table code.action');
    await actions.first().waitFor();
    const seen = new Set(await actions.allTextContents());
    expect(seen).toContain('apikey.revoke');
    expect(seen).not.toContain('team.create');
    await shot('15-project-audit');
  });

  it('signs out and sends the visitor back to sign-in from app pages', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    await page.goto(`/teams/${at.teamId}/members`);
    await page.waitForURL(new RegExp(`/sign-in\\?next=${encodeURIComponent(`/teams/${at.teamId}/members`)}$`));
    await page.getByRole('heading', { name: 'Sign in to Stagebook' }).waitFor();
    await shot('16-signed-out');
  });

  it('answers a sign-up with a taken email like any other, and then says the password did not sign in', async () => {
    await page.goto('/sign-up');
    await page.getByLabel('Email', { exact: true }).fill(owner.email);
    await page.getByLabel('Name', { exact: true }).fill('Not Ada');
    await page.getByLabel('Password', { exact: true }).fill('someone elses password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'its owner has been told' }).waitFor();
    expect(page.url()).toMatch(/\/sign-up$/);
    await shot('16b-sign-up-taken-email');
    // Back where the previous test left the visitor (the next test signs in from there).
    await page.goto(`/sign-in?next=${encodeURIComponent(`/teams/${at.teamId}/members`)}`);
  });

  it('shows a viewer the team read-only', async () => {
    await page.getByLabel('Email', { exact: true }).fill(colleague.email);
    await page.getByLabel('Password', { exact: true }).fill(colleague.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/teams/${at.teamId}/members$`));
    await page.getByRole('cell', { name: owner.email }).waitFor();
    expect(await page.locator('main select').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Remove' }).count()).toBe(0);
    await page.getByText('Only team admins can invite people, change roles or remove members.').waitFor();
    await shot('17-members-as-viewer');

    await goto(`/projects/${at.projectId}`);
    await page.getByRole('heading', { name: 'Churn model' }).waitFor();
    expect(await page.getByRole('button', { name: 'Start hello run' }).count()).toBe(0);
    await goto(`/projects/${at.projectId}/api-keys`);
    await page.getByText('Only team admins can see and manage API keys.').waitFor();
    await shot('18-api-keys-as-viewer');
  });

  it('rendered every page without client-side errors', () => {
    // Rejected requests (the wrong password, the last-admin refusal) are logged by Chromium itself.
    const unexpected = pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of (400|401|412)/.test(e));
    expect(unexpected).toEqual([]);
  });
});
