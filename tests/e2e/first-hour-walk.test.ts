/**
 * The first hour of issue 18, walked in the browser on a real server (child process, embedded
 * PostgreSQL, its own Temporal), as a new user does it: sign in through the form, create a team and a
 * project with their forms, upload credit_data.csv through the file input, write a notebook (SQL,
 * check, train), Run all and read the model's AUC on its page; then an endpoint and a scenario cell,
 * the scenario's form and cron builder, promote and deploy, score with real curl, disable and enable
 * the scenario on the Production page without a new bundle, and the audit trail reading the story,
 * filtered by a workflow actor and by a target name. Screenshots in light and dark mode go to
 * tests/.tmp/first-hour-walk/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery, type ServerChild } from './server';
import { paste, screenshotOnFailure, signedInBrowser, signUp } from './setup';

const SHOTS = path.join(import.meta.dirname, '../.tmp/first-hour-walk');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** credit_data.csv: 4,454 rows, 14 columns. */
const CREDIT_ROWS = '4,454';
const grace = { email: 'grace@example.com', name: 'Grace Hopper', password: 'compiler-a0-1952' };

const scenarioYaml = `name: nightly
description: Rebuild the clean rows and check them
triggers:
  - type: manual
  - type: dataset_change
    dataset: credit
    every: 1m
steps:
  - type: build
    datasets: [credit_clean]
  - type: checks
    dataset: credit_clean
`;

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);

describe('the first hour: project, upload, notebook, build and train, scenario form, deploy, curl, disable a scenario, audit', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;
  let notebookUrl: string;

  /** The page as it is, in light and in dark mode: two screenshots to look at. */
  const shots = async (name: string) => {
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 15_000 });
    // From the top: a full-page shot of a scrolled page draws the sticky top bar where the viewport was.
    await page.evaluate(() => window.scrollTo(0, 0));
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForTimeout(150);
      await page.screenshot({ path: path.join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
    }
    await page.emulateMedia({ colorScheme: 'light' });
  };
  const addCell = async (kind: string, position: number, source: string) => {
    await page.getByRole('button', { name: `Add ${kind} cell` }).click();
    await cellAt(page, position).locator('.monaco-editor').first().waitFor();
    await paste(page, source);
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    // The account exists (signing up has its own test); everything else is done in the browser.
    cookie = await signUp(server.baseUrl, grace);
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie, { timeout: 15_000 }));
  }, 240_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'first-hour-walk', task));
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('signs in through the form, creates a team and a project with their forms; the landing lists the project', async () => {
    await browser.context.clearCookies();
    await page.goto('/');
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('Email', { exact: true }).fill(grace.email);
    await page.getByLabel('Password', { exact: true }).fill(grace.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/teams$/);
    await page.getByLabel('Team name').fill('Risk Analytics');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.waitForURL(new RegExp(`/teams/${UUID}$`));
    await page.getByRole('region', { name: 'New project' }).getByLabel('Name', { exact: true }).fill('Credit model');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID}$`));
    projectId = page.url().split('/').pop()!;
    await page.getByRole('region', { name: 'Datasets' }).getByText('No datasets yet.').waitFor();
    await page.goto('/');
    await page.waitForURL(/\/teams$/);
    await page.getByRole('table', { name: 'Recent projects' }).getByRole('link', { name: 'Credit model' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}$`));
    await page.goto('/teams');
    await page.getByRole('table', { name: 'Recent projects' }).getByRole('link', { name: 'Credit model' }).waitFor();
    await shots('00-landing');
  }, 60_000);

  it('uploads credit_data.csv through the file input and shows its rows in the project', async () => {
    await page.goto(`/projects/${projectId}`);
    await page.getByRole('button', { name: 'Upload CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload a CSV' });
    await dialog.locator('input[type=file]').setInputFiles(creditDataCsv);
    // Named after the file and typed in the browser before anything is sent; renamed by hand.
    expect(await dialog.getByLabel('Dataset name').inputValue()).toBe('credit_data');
    expect(await dialog.getByLabel('Type of status').inputValue()).toBe('text');
    await dialog.getByLabel('Dataset name').fill('credit');
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    await dialog.getByRole('status').filter({ hasText: `with ${CREDIT_ROWS} rows and 14 columns` }).waitFor({ timeout: 30_000 });
    // The modal's backdrop covers the viewport only: shot without scrolling.
    await page.screenshot({ path: path.join(SHOTS, '01-upload-done-light.png') });
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    const row = page.getByRole('region', { name: 'Datasets' }).getByRole('row').filter({ hasText: 'credit' });
    await row.getByRole('cell', { name: CREDIT_ROWS }).waitFor();
    await shots('01-project-datasets');
    // Production's copy arrives as an application sends it, over REST (the scenario below watches it).
    const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets?name=credit&environment=production`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: readFileSync(creditDataCsv) });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  }, 60_000);

  it('writes SQL, check and train cells, runs them all, and the model page shows the AUC the cell reported', async () => {
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Credit operations');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/notebooks/${UUID}$`));
    notebookUrl = new URL(page.url()).pathname;
    await page.locator('.connection[data-state=connected]').waitFor();
    await addCell('SQL', 1, "-- writes: credit_clean\nselect * from credit\nwhere income is not null and status in ('good', 'bad')");
    await addCell('Check', 2, 'dataset: credit_clean\nchecks:\n- type: row_count\n  min: 100');
    await addCell('Train', 3, 'model: credit-risk\ndataset: credit_clean\ntarget: status\npositiveClass: bad\nalgorithm: logistic_regression');
    await page.locator('.build-bar .compile-state-ok', { hasText: '1 dataset to build, 1 model to train' }).waitFor({ timeout: 30_000 });

    await page.getByRole('button', { name: 'Run all' }).click();
    const trained = cellAt(page, 3).locator('.cell-build[data-status=succeeded]');
    await trained.waitFor({ timeout: 90_000 });
    expect(await cellAt(page, 1).locator('.cell-build').getAttribute('data-status')).toBe('succeeded');
    const link = trained.getByTestId('step-result');
    const reported = (await link.textContent())!;
    expect(reported).toMatch(/^credit-risk version 1, AUC 0\.\d+$/);
    const cellAuc = Number(/AUC (0\.\d+)$/.exec(reported)![1]);
    expect(cellAuc).toBeGreaterThan(0.75);
    await shots('02-notebook-built');

    await link.click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/models/credit-risk\\?version=1$`));
    const tile = page.locator('[data-metric=AUC] .metric-tile-value');
    await tile.waitFor();
    // The page's AUC (more digits) rounds to the cell's.
    expect(Math.abs(Number(await tile.textContent()) - cellAuc)).toBeLessThanOrEqual(0.0051);
    await page.getByTestId('roc-chart').locator('.recharts-line-curve').waitFor();
    await page.locator('tr[data-version="1"]').getByText('champion').waitFor();
    await shots('03-model');
  }, 150_000);

  it('adds endpoint and scenario cells; the scenario cell reads in words and its cron builder writes a schedule into the YAML', async () => {
    await page.goto(notebookUrl);
    await page.locator('.connection[data-state=connected]').waitFor();
    await cellAt(page, 3).locator('.monaco-editor').first().waitFor();
    await addCell('Endpoint', 4, 'name: credit-prod\nmodel: credit-risk\n');
    await addCell('Scenario', 5, scenarioYaml);
    await page.locator('.build-bar .compile-state-ok').waitFor({ timeout: 30_000 });

    const form = cellAt(page, 5).getByLabel('Scenario of cell 5 in words');
    await form.getByRole('list', { name: 'Triggers' }).locator('li[data-trigger=dataset_change]').waitFor();
    expect(await form.getByRole('list', { name: 'Triggers' }).locator('li').allTextContents()).toEqual(['manual', 'when credit changes (checked every minute)']);
    expect(await form.getByRole('list', { name: 'Steps' }).locator('li').allTextContents()).toEqual(['1. build credit_clean', '2. checks credit_clean']);

    await form.getByRole('button', { name: 'Schedule builder for cell 5' }).click();
    const builder = form.getByRole('group', { name: 'Schedule builder' });
    await builder.getByLabel('Repeat').selectOption('weekdays');
    await builder.getByRole('spinbutton', { name: 'Hour', exact: true }).fill('7');
    await builder.getByRole('spinbutton', { name: 'Minute', exact: true }).fill('30');
    await builder.getByLabel('Time zone').selectOption('Europe/Paris');
    expect(await builder.locator('[data-cron]').textContent()).toBe('30 7 * * 1-5');
    // The next run, as the clock in Paris shows it, with the zone named.
    expect(await builder.locator('[data-next-run]').textContent()).toMatch(/^Next run: .*07:30.*(CET|CEST|GMT\+1|GMT\+2)/);
    await shots('04-scenario-form');
    await builder.getByRole('button', { name: 'Add to YAML' }).click();
    await form.locator('li[data-trigger=schedule]').waitFor({ timeout: 10_000 });
    expect(await form.locator('li[data-trigger=schedule]').textContent()).toBe('At 07:30 AM, Monday through Friday, Europe/Paris');
    await shots('05-notebook');
    // The Flow view follows the theme as well (React Flow's colour mode, the app's tokens).
    await page.getByRole('navigation', { name: 'Notebook views' }).getByRole('button', { name: 'Flow' }).click();
    await page.getByTestId('flow-view').waitFor();
    await shots('05b-flow');
    await page.getByRole('navigation', { name: 'Notebook views' }).getByRole('button', { name: 'Cells' }).click();
  }, 120_000);

  it('promotes with the dialog, deploys on the Production page; scores the endpoint with curl', async () => {
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Promote to a bundle' });
    await dialog.getByLabel('Release notes').waitFor({ timeout: 30_000 });
    // The first bundle: the model the notebook trained is in it, with its metrics.
    await dialog.locator('tr[data-model=credit-risk]').getByText('added').waitFor();
    await dialog.getByLabel('Release notes').fill('First hour');
    // The last build succeeded (endpoint and scenario cells build nothing): nothing to confirm.
    expect(await dialog.getByLabel(/Promote anyway/).count()).toBe(0);
    await dialog.screenshot({ path: path.join(SHOTS, '06a-promote-light.png') });
    await dialog.getByRole('button', { name: /^Promote/ }).click();
    await dialog.getByText(/Sealed bundle/).waitFor({ timeout: 30_000 });
    const hash = (await dialog.getByRole('status').locator('a.mono').getAttribute('href'))!.split('/').pop()!;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    await dialog.getByRole('link', { name: 'Go to Production' }).click();
    await page.waitForURL(/\/production$/);
    await page.locator(`tr[data-hash="${hash}"]`).getByRole('button', { name: 'Deploy' }).click();
    await page.getByLabel('Reason for the deployment').fill('Go live');
    await page.getByRole('button', { name: 'Deploy now' }).click();
    await page.locator(`.active-bundle[data-hash="${hash}"]`).waitFor();
    await page.locator('.active-bundle .badge-ok', { hasText: 'serving' }).waitFor();
    const { secret } = (await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'app', scopes: ['score:credit-prod'] }, cookie)) as { secret: string };
    const record = { seniority: 9, home: 'rent', time: 60, age: 30, marital: 'married', records: false, job: 'freelance', expenses: 73, income: 129, assets: 0, debt: 0, amount: 800, price: 846 };
    const out = execFileSync('curl', ['-sS', '-X', 'POST', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${secret}`, '-d', JSON.stringify({ records: [record] }), `${server.baseUrl}/api/v1/endpoints/credit-prod/predict`], { encoding: 'utf8' });
    const body = JSON.parse(out) as { predictions: { label: string; probabilities: Record<string, number> }[] };
    expect(body.predictions).toHaveLength(1);
    expect(['good', 'bad']).toContain(body.predictions[0]!.label);
    expect(body.predictions[0]!.probabilities.good! + body.predictions[0]!.probabilities.bad!).toBeCloseTo(1, 6);
  }, 60_000);

  it('disables the scenario on the Production page without a new bundle, then enables it again', async () => {
    await page.goto(`/projects/${projectId}/production`);
    const row = page.getByRole('region', { name: 'Scenarios' }).locator('tr[data-scenario=nightly]');
    await row.waitFor();
    expect(await row.locator('[data-next-run]').textContent()).toMatch(/07:30.*(CET|CEST|GMT\+1|GMT\+2)/);
    await shots('06-production');
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('group', { name: "Pause nightly's triggers and refuse its runs?" }).getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    expect(await row.locator('[data-next-run]').textContent()).toBe('paused');
    expect(await row.getByRole('button', { name: 'Run nightly now' }).isDisabled()).toBe(true);
    await shots('07-production-disabled');
    const listed = (await trpcQuery(server.baseUrl, 'scenarios.list', { projectId }, cookie)) as { name: string; enabled: boolean }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'nightly', enabled: false })]);
    await row.getByRole('button', { name: 'Enable nightly' }).click();
    await row.getByRole('button', { name: 'Disable' }).waitFor();
    expect(await row.getByText('disabled', { exact: true }).count()).toBe(0);
  }, 60_000);

  it('the audit trail tells it: targets by name with links, the scenario disabled and enabled by Grace, filters by a build and by a name', async () => {
    await page.goto(`/projects/${projectId}/audit`);
    const table = page.locator('table.audit-table');
    const disabled = table.locator('tr', { has: page.locator('code.action', { hasText: 'scenario.disable' }) });
    await disabled.waitFor();
    expect(await disabled.getByRole('link', { name: 'nightly' }).getAttribute('href')).toBe(`/projects/${projectId}/production#scenarios`);
    expect(await disabled.textContent()).toContain('Scenario disabled');
    await table.locator('code.action', { hasText: 'scenario.enable' }).waitFor();
    const created = table.locator('tr', { has: page.locator('code.action', { hasText: 'notebook.create' }) });
    expect(await created.getByRole('link', { name: 'Credit operations' }).getAttribute('href')).toMatch(new RegExp(`^/projects/${projectId}/notebooks/${UUID}$`));
    await shots('08-audit');

    // Filtered by a workflow actor as the log words it, then by a target's name.
    const shown = () =>
      table.locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({ actor: tr.querySelector('.actor')?.textContent ?? '', action: tr.querySelector('code.action')?.textContent ?? '', target: tr.children[3]?.textContent ?? '' })),
      );
    const filter = async (field: 'actor' | 'target', text: string) => {
      await page.locator('input[name=actor]').fill(field === 'actor' ? text : '');
      await page.locator('input[name=target]').fill(field === 'target' ? text : '');
      await page.getByRole('button', { name: 'Apply' }).click();
    };
    await filter('actor', 'build of credit operations');
    const builtBy = /^build of Credit operations \(run \d+\)$/;
    await expect.poll(async () => (await shown()).every((r) => builtBy.test(r.actor)) && (await shown()).length > 0, { timeout: 15_000 }).toBe(true);
    const byActor = await shown();
    expect(byActor).toContainEqual(expect.objectContaining({ actor: 'build of Credit operations (run 1)', action: 'model.train' }));
    expect(byActor.map((r) => r.action)).toContain('build.complete');
    await shots('09-audit-by-actor');
    await filter('target', 'credit-risk');
    await expect.poll(async () => (await shown()).every((r) => r.target.includes('credit-risk')) && (await shown()).length > 0, { timeout: 15_000 }).toBe(true);
    expect((await shown()).map((r) => r.action)).toContain('model.train');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
