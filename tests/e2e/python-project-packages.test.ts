/**
 * Python cells in the browser, beyond the first preview: (1) a preview on the first 10,000 rows of
 * each input says so, and Show all runs the cell on every row and streams the full result into the
 * grid; (2) the project's Python page refuses a bad requirements line naming it, saves pinned
 * packages, and the next run of a cell installs and imports them (from a --find-links directory of
 * wheels written here: STAGEBOOK_PYTHON_FIND_LINKS); (3) the instance admin reaches the settings page.
 * Screenshots: screenshots/py-*.png. The sealed bundle's page lists the packages it carries.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { pythonCellVenv, writeTestWheel } from '../helpers/python';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery, type ServerChild } from './server';
import { fullPageShot, paste, screenshotOnFailure, signedInBrowser, uploadCsv } from './setup';

const root = { email: 'root@example.com', password: 'instance-admin-2026' };

async function signIn(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/trpc/auth.signIn`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json: root }) });
  const set = res.headers.getSetCookie().find((c) => c.startsWith('sb_session='));
  if (!res.ok || !set) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return set.split(';')[0]!;
}

async function writeCell(page: Page, kindButton: string, source: string, marker: string) {
  await page.getByRole('button', { name: kindButton }).click();
  const cell = page.locator('section.cell').last();
  await page.waitForFunction(() => !!document.activeElement?.closest('section.cell .monaco-editor'), undefined, { timeout: 30_000 });
  await page.keyboard.press('Control+A');
  await paste(page, source);
  await expect.poll(async () => ((await cell.locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' '), { timeout: 15_000 }).toContain(marker);
  return cell;
}

describe('Python cells: full results, project packages, instance settings', () => {
  let server: ServerChild;
  let session: { browser: BrowserSession; page: Page; pageErrors: string[] } | undefined;
  let scratch: string;
  let cookie: string;
  let projectId: string;

  beforeAll(async () => {
    pythonCellVenv();
    scratch = mkdtempSync(path.join(tmpdir(), 'sb-py-e2e-'));
    chmodSync(scratch, 0o755);
    const wheels = path.join(scratch, 'wheels');
    mkdirSync(wheels, { mode: 0o755 });
    writeTestWheel(wheels, 'sbtiny', '1.0.0', { 'sbtiny.py': 'def shout(s):\n    return s.upper() + "!"\n' });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000, env: { STAGEBOOK_ADMIN_EMAIL: root.email, STAGEBOOK_ADMIN_PASSWORD: root.password, STAGEBOOK_PYTHON_FIND_LINKS: wheels } });
    cookie = await signIn(server.baseUrl);
    const teams = (await trpcQuery(server.baseUrl, 'teams.list', undefined, cookie)) as { id: string }[];
    projectId = ((await trpcMutation(server.baseUrl, 'projects.create', { teamId: teams[0]!.id, name: 'Pandas' }, cookie)) as { id: string }).id;
    const file = path.join(scratch, 'nums.csv');
    writeFileSync(file, `id,label\n${Array.from({ length: 12_000 }, (_, i) => `${i + 1},r${i + 1}`).join('\n')}\n`);
    await uploadCsv(server.baseUrl, cookie, projectId, 'nums', file);
    session = await signedInBrowser(server.baseUrl, cookie, { timeout: 20_000 });
  }, 900_000);

  afterEach(async ({ task }) => {
    await screenshotOnFailure(session?.page, 'py-packages', task);
  });

  afterAll(async () => {
    await session?.browser.close();
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('a Python preview says it ran on a sample, and Show all brings the full 6,000 rows', async () => {
    const page = session!.page;
    const notebook = (await trpcMutation(server.baseUrl, 'notebooks.create', { projectId, name: 'Evens' }, cookie)) as { id: string };
    await page.goto(`/projects/${projectId}/notebooks/${notebook.id}`);
    await page.locator('.connection[data-state=connected]').waitFor();
    const cell = await writeCell(page, 'Add Python cell', '# inputs: nums\n# output: even_nums\neven_nums = nums[nums["id"] % 2 == 0].assign(half=lambda d: d["id"] // 2)\n', 'even_nums = nums');
    await page.getByRole('button', { name: 'Run cell 1', exact: true }).click();
    const out = cell.getByTestId('cell-output');
    const note = out.getByTestId('sample-note');
    await note.waitFor({ timeout: 120_000 });
    expect(await note.textContent()).toContain('Ran on the first 10,000 rows of nums');
    expect(await out.getByTestId('row-summary').textContent()).toBe('1,000 of 5,000 rows from a sample');
    await fullPageShot(page, 'py-1-sample');

    await out.getByRole('button', { name: 'Show all rows' }).click();
    await out.getByTestId('row-summary').filter({ hasText: /^6,000 rows$/ }).waitFor({ timeout: 120_000 });
    expect(await note.textContent()).toContain('Show all ran the cell on every row of nums');
    await fullPageShot(page, 'py-2-show-all');
    // Download CSV has the full result too (the grid's link, fetched with the session).
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), (await out.locator('a', { hasText: 'Download CSV' }).getAttribute('href'))!);
    expect(csv.trim().split('\n')).toHaveLength(6_001);
    expect(session!.pageErrors).toEqual([]);
  }, 300_000);

  it('the Python page names a bad line, saves pinned packages, and the next run imports them', async () => {
    const page = session!.page;
    await page.goto(`/projects/${projectId}/python`);
    const box = page.getByRole('textbox', { name: 'Requirements' });
    await box.fill('sbtiny==1.0.0\n-e git+https://example.com/evil.git\n');
    await expect.poll(() => page.getByTestId('requirement-problems').textContent()).toContain('line 2 (-e git+https://example.com/evil.git): pip options are not allowed');
    expect(await page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await fullPageShot(page, 'py-3-bad-line');
    await box.fill('# shouting\nsbtiny==1.0.0\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('install-state').filter({ hasText: 'not installed yet' }).waitFor();
    await fullPageShot(page, 'py-4-saved');

    const notebook = (await trpcMutation(server.baseUrl, 'notebooks.create', { projectId, name: 'Shout' }, cookie)) as { id: string };
    await page.goto(`/projects/${projectId}/notebooks/${notebook.id}`);
    await page.locator('.connection[data-state=connected]').waitFor();
    const cell = await writeCell(page, 'Add Python cell', '# inputs: nums\n# output: shouted\nimport sbtiny\nshouted = nums.head(3).assign(loud=lambda d: d["label"].map(sbtiny.shout))\n', 'import sbtiny');
    await page.getByRole('button', { name: 'Run cell 1', exact: true }).click();
    const grid = cell.getByTestId('cell-output');
    await grid.getByText('R1!').waitFor({ timeout: 180_000 });
    await fullPageShot(page, 'py-5-imported');

    await page.goto(`/projects/${projectId}/python`);
    await page.getByTestId('install-state').filter({ hasText: 'ready' }).waitFor();
    await fullPageShot(page, 'py-6-ready');

    // Promoting the notebook: the bundle will carry the project's packages (normalised: comments
    // dropped), shown in the dialog.
    await page.goto(`/projects/${projectId}/notebooks/${notebook.id}`);
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Promote to a bundle' });
    const packages = dialog.getByRole('region', { name: 'Python package changes' });
    await packages.waitFor({ timeout: 30_000 });
    await expect.poll(() => packages.textContent()).toContain("Production runs of this bundle install these, whatever the project's list says later.");
    expect((await packages.locator('.diff-line.diff-add').allTextContents()).map((t) => t.replace('+added: ', ''))).toEqual(['sbtiny==1.0.0']);
    await fullPageShot(page, 'py-7-promote-packages');
    // Sealed: the bundle's page lists the packages its production runs install.
    await dialog.getByLabel('Release notes').fill('Shouting labels.');
    const anyway = dialog.getByLabel(/Promote anyway/);
    if ((await anyway.count()) > 0) await anyway.check();
    await dialog.getByRole('button', { name: /^Promote/ }).click();
    await dialog.getByText(/Sealed bundle/).waitFor({ timeout: 30_000 });
    await dialog.getByRole('status').locator('a.mono').click();
    const sealed = page.locator('.card', { has: page.getByRole('heading', { name: 'Python packages' }) });
    await sealed.waitFor({ timeout: 30_000 });
    expect(await sealed.locator('li').allTextContents()).toEqual(['sbtiny==1.0.0']);
    await fullPageShot(page, 'py-8-bundle-packages');
    expect(session!.pageErrors).toEqual([]);
  }, 300_000);

  it('the instance admin reaches the Python sandbox switch from the top bar', async () => {
    const page = session!.page;
    await page.goto('/teams');
    await page.getByRole('link', { name: 'Instance' }).click();
    await page.getByRole('heading', { name: 'Python sandbox' }).waitFor();
    expect(await page.getByTestId('sandbox-status').textContent()).toContain('bubblewrap works');
    await fullPageShot(page, 'py-7-instance');
    expect(session!.pageErrors).toEqual([]);
  }, 120_000);
});
