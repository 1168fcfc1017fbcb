/**
 * The first hour of issue 18, walked in the browser on a real server (child process, embedded
 * PostgreSQL, its own Temporal): a new account's data uploaded, a notebook written cell by cell
 * (SQL, endpoint, scenario), the scenario's form read and its schedule set with the cron builder,
 * the notebook promoted and deployed, the endpoint scored with real curl, the scenario disabled and
 * enabled on the Production page without a new bundle, and the audit trail reading the story.
 * Screenshots in light and dark mode go to tests/.tmp/first-hour-walk/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery, type ServerChild } from './server';
import { accountWithProject, paste, screenshotOnFailure, signedInBrowser } from './setup';

const SHOTS = path.join(import.meta.dirname, '../.tmp/first-hour-walk');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
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

describe('the first hour: data, notebook, scenario form, deploy, score with curl, disable a scenario, audit', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;

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
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, grace, { team: 'Risk Analytics', project: 'Credit model' }));
    const csv = readFileSync(creditDataCsv);
    for (const environment of ['design', 'production']) {
      const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets?name=credit&environment=${environment}`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: csv });
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    }
    const started = (await trpcMutation(server.baseUrl, 'models.train', { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' } }, cookie)) as { id: string };
    for (;;) {
      const t = (await trpcQuery(server.baseUrl, 'models.training', { projectId, trainingId: started.id }, cookie)) as { state: string; error: unknown };
      if (t.state === 'succeeded') break;
      if (t.state !== 'running') throw new Error(`training ended ${t.state}: ${JSON.stringify(t.error)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie, { timeout: 15_000 }));
  }, 300_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'first-hour-walk', task));
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('signs in through the form and lands on the recent projects', async () => {
    await browser.context.clearCookies();
    await page.goto('/');
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('Email', { exact: true }).fill(grace.email);
    await page.getByLabel('Password', { exact: true }).fill(grace.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/teams$/);
    await page.getByRole('table', { name: 'Recent projects' }).getByRole('link', { name: 'Credit model' }).waitFor();
    await shots('00-landing');
  }, 60_000);

  it('writes a notebook; the scenario cell reads in words and its cron builder writes a schedule into the YAML', async () => {
    await page.goto(`/projects/${projectId}`);
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Credit operations');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/notebooks/${UUID}$`));
    await page.locator('.connection[data-state=connected]').waitFor();
    await addCell('SQL', 1, "-- writes: credit_clean\nselect * from credit\nwhere income is not null and status in ('good', 'bad')");
    await addCell('Check', 2, 'dataset: credit_clean\nchecks:\n- type: row_count\n  min: 100');
    await addCell('Endpoint', 3, 'name: credit-prod\nmodel: credit-risk\n');
    await addCell('Scenario', 4, scenarioYaml);
    await page.locator('.build-bar .compile-state-ok').waitFor({ timeout: 30_000 });

    const form = cellAt(page, 4).getByLabel('Scenario of cell 4 in words');
    await form.getByRole('list', { name: 'Triggers' }).locator('li[data-trigger=dataset_change]').waitFor();
    expect(await form.getByRole('list', { name: 'Triggers' }).locator('li').allTextContents()).toEqual(['manual', 'when credit changes (checked every minute)']);
    expect(await form.getByRole('list', { name: 'Steps' }).locator('li').allTextContents()).toEqual(['1. build credit_clean', '2. checks credit_clean']);

    await form.getByRole('button', { name: 'Schedule builder for cell 4' }).click();
    const builder = form.getByRole('group', { name: 'Schedule builder' });
    await builder.getByLabel('Repeat').selectOption('weekdays');
    await builder.getByRole('spinbutton', { name: 'Hour', exact: true }).fill('7');
    await builder.getByRole('spinbutton', { name: 'Minute', exact: true }).fill('30');
    await builder.getByLabel('Time zone').selectOption('Europe/Paris');
    expect(await builder.locator('[data-cron]').textContent()).toBe('30 7 * * 1-5');
    // The next run, as the clock in Paris shows it, with the zone named.
    expect(await builder.locator('[data-next-run]').textContent()).toMatch(/^Next run: .*07:30.*(CET|CEST|GMT\+1|GMT\+2)/);
    await shots('01-scenario-form');
    await builder.getByRole('button', { name: 'Add to YAML' }).click();
    await form.locator('li[data-trigger=schedule]').waitFor({ timeout: 10_000 });
    expect(await form.locator('li[data-trigger=schedule]').textContent()).toBe('At 07:30 AM, Monday through Friday, Europe/Paris');
    await shots('02-notebook');
    // The Flow view follows the theme as well (React Flow's colour mode, the app's tokens).
    await page.getByRole('navigation', { name: 'Notebook views' }).getByRole('button', { name: 'Flow' }).click();
    await page.getByTestId('flow-view').waitFor();
    await shots('02b-flow');
    await page.getByRole('navigation', { name: 'Notebook views' }).getByRole('button', { name: 'Cells' }).click();
  }, 120_000);

  it('promotes and deploys; scores the endpoint with curl', async () => {
    const notebookId = page.url().split('/').pop()!;
    const { bundle } = (await trpcMutation(server.baseUrl, 'bundles.promote', { projectId, notebookId, releaseNotes: 'First hour', confirmFailedBuild: true }, cookie)) as { bundle: { hash: string } };
    await trpcMutation(server.baseUrl, 'deployments.deploy', { projectId, bundleHash: bundle.hash, reason: 'Go live' }, cookie);
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
    await shots('03-production');
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByRole('group', { name: "Pause nightly's triggers and refuse its runs?" }).getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    expect(await row.locator('[data-next-run]').textContent()).toBe('paused');
    expect(await row.getByRole('button', { name: 'Run nightly now' }).isDisabled()).toBe(true);
    await shots('04-production-disabled');
    const listed = (await trpcQuery(server.baseUrl, 'scenarios.list', { projectId }, cookie)) as { name: string; enabled: boolean }[];
    expect(listed).toEqual([expect.objectContaining({ name: 'nightly', enabled: false })]);
    await row.getByRole('button', { name: 'Enable nightly' }).click();
    await row.getByRole('button', { name: 'Disable' }).waitFor();
    expect(await row.getByText('disabled', { exact: true }).count()).toBe(0);
  }, 60_000);

  it('the audit trail tells it: targets by name with links, the scenario disabled and enabled by Grace', async () => {
    await page.goto(`/projects/${projectId}/audit`);
    const table = page.locator('table.audit-table');
    const disabled = table.locator('tr', { has: page.locator('code.action', { hasText: 'scenario.disable' }) });
    await disabled.waitFor();
    expect(await disabled.getByRole('link', { name: 'nightly' }).getAttribute('href')).toBe(`/projects/${projectId}/production#scenarios`);
    expect(await disabled.textContent()).toContain('Scenario disabled');
    await table.locator('code.action', { hasText: 'scenario.enable' }).waitFor();
    const created = table.locator('tr', { has: page.locator('code.action', { hasText: 'notebook.create' }) });
    expect(await created.getByRole('link', { name: 'Credit operations' }).getAttribute('href')).toMatch(new RegExp(`^/projects/${projectId}/notebooks/${UUID}$`));
    await shots('05-audit');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
