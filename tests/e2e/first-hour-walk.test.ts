/**
 * The first hour of issue 18, walked in the browser on a real server (child process, embedded
 * PostgreSQL, its own Temporal, the demo seeded), as a new user does it after `npm start`: sign in
 * through the form as the first admin, visit the demo (a deployed forecast that already ran), create a
 * team and a project with their forms, upload credit_data.csv through the file input and a production
 * copy through the Production page (then append rows from a CSV), write a notebook (SQL, check,
 * train), Run all and read the model's AUC on its page; then an endpoint and a scenario cell, the
 * scenario's form and cron builder, promote and deploy, create an API key by ticking the endpoint,
 * score with real curl, disable and enable the scenario without a new bundle, the audit trail reading
 * the story; the overview, a breadcrumb page, Ctrl+K search and a not-found page of the new project;
 * and a second person invited. Each issue point it asserts is named in its test's title (#1 to #12).
 * Screenshots in light and dark mode go to tests/.tmp/first-hour-walk/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcQuery, type ServerChild } from './server';
import { paste, screenshotOnFailure } from './setup';

const SHOTS = path.join(import.meta.dirname, '../.tmp/first-hour-walk');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** credit_data.csv: 4,454 rows, 14 columns. */
const CREDIT_ROWS = '4,454';
const NOT_FOUND_MS = 2_000;

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

describe('the first hour: demo, project, upload, notebook, build and train, scenario form, deploy, key, curl, disable a scenario, audit, pages, invite', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let teamId: string;
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
    server = await startServer({ readyTimeoutMs: 180_000, env: { STAGEBOOK_DEMO: '1' } });
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 15_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
    // The demo is seeded in the background after the server is up (its forecast runs once).
    const deadline = Date.now() + 300_000;
    while (!/\[demo\] (ready|failed|not seeded)/.test(server.logTail())) {
      if (Date.now() > deadline) throw new Error(`the demo seed did not finish\n${server.logTail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(server.logTail(), server.logTail()).toContain('[demo] ready');
  }, 540_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'first-hour-walk', task));
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('#3 #10 #1 signs in through the form as the first admin: the landing shows recent projects and notebooks; the demo forecast already ran', async () => {
    const file = readFileSync(path.join(server.home, 'initial-admin.txt'), 'utf8');
    await page.goto('/');
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('Email', { exact: true }).fill(/email: (\S+)/.exec(file)![1]!);
    await page.getByLabel('Password', { exact: true }).fill(/password: (\S+)/.exec(file)![1]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/teams$/);
    cookie = (await browser.context.cookies()).filter((c) => c.name === 'sb_session').map((c) => `${c.name}=${c.value}`)[0]!;
    const recentNotebooks = page.getByRole('table', { name: 'Recent notebooks' });
    await recentNotebooks.getByRole('link', { name: 'Next-day demand' }).waitFor();
    await shots('00-landing-demo');

    // The demo's forecast: deployed, and it ran once at seed time: its run, its bundle, its chart.
    await page.getByRole('table', { name: 'Recent projects' }).getByRole('link', { name: 'Demand forecast' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID}$`));
    const production = page.getByTestId('active-bundle');
    await production.getByText('Demo seed: first deployment').waitFor();
    const runs = page.getByRole('region', { name: 'Scenario runs' });
    await runs.locator('[data-status=succeeded], .badge-status-succeeded').first().waitFor();
    expect(await runs.innerText()).toContain('nightly_forecast');
    // The scenario's own build: a production build, started by the scenario's run in words (not a workflow id).
    const builds = page.getByRole('region', { name: 'Builds' });
    await builds.getByText('scenario nightly_forecast (run 1)').waitFor();
    expect(await builds.innerText()).not.toMatch(/workflow:|deleted/);
    expect(await page.getByRole('button', { name: 'Start hello run' }).count()).toBe(0);
    expect(await page.getByText('No deployments yet.').count()).toBe(0);
    await shots('00b-demo-overview');
    await page.goto(`${new URL(page.url()).pathname}/production/datasets/demand_forecast`);
    await page.getByRole('heading', { name: 'demand_forecast' }).waitFor();
    expect(Number((await page.getByTestId('dataset-row-count').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
    await page.getByRole('region', { name: 'Metrics' }).locator('.recharts-surface').first().waitFor();
    await shots('00c-demo-forecast');
  }, 90_000);

  it('#12 creates a team and a project with their forms (an empty name is said once, next to the field); the landing lists the project', async () => {
    await page.goto('/teams');
    // Rendered from the client's own query: the page is hydrated and its forms answer.
    await page.getByRole('table', { name: 'Recent projects' }).getByRole('link', { name: 'Demand forecast' }).waitFor();
    await page.getByLabel('Team name').fill('Risk Analytics');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.waitForURL(new RegExp(`/teams/${UUID}$`));
    teamId = page.url().split('/').pop()!;
    const newProject = page.getByRole('region', { name: 'New project' });
    await page.getByRole('button', { name: 'Create project' }).click();
    await newProject.getByText('Name is required', { exact: true }).waitFor();
    // Once, right under the field it is about (not again at the form's foot, not "Name: name is required").
    expect(await newProject.getByText(/name is required/i).count()).toBe(1);
    expect(await newProject.getByRole('alert').allTextContents()).toEqual(['Name is required']);
    const nameInput = newProject.locator('input[name=projectName]');
    expect(await newProject.locator('input[name=projectName] + [role=alert]').textContent()).toBe('Name is required');
    expect(await nameInput.getAttribute('aria-invalid')).toBe('true');
    await newProject.screenshot({ path: path.join(SHOTS, '00d-form-error-light.png') });
    await nameInput.fill('Credit model');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID}$`));
    projectId = page.url().split('/').pop()!;
    await page.getByRole('region', { name: 'Datasets' }).getByText('No datasets yet.').waitFor();
    await page.goto('/');
    await page.waitForURL(/\/teams$/);
    await page.getByRole('table', { name: 'Recent projects' }).getByRole('link', { name: 'Credit model' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}$`));
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
  }, 60_000);

  it('uploads a production copy on the Production page and appends rows to it from a CSV; a bad row is named by its line and nothing is appended', async () => {
    await page.goto(`/projects/${projectId}/production`);
    await page.getByRole('button', { name: 'Upload CSV to production' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload a CSV to production' });
    await dialog.locator('input[type=file]').setInputFiles(creditDataCsv);
    await dialog.getByLabel('Dataset name').fill('credit');
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    await dialog.getByRole('status').filter({ hasText: `with ${CREDIT_ROWS} rows and 14 columns` }).waitFor({ timeout: 30_000 });
    await dialog.getByRole('link', { name: 'Open dataset' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/production/datasets/credit$`));
    expect(await page.getByTestId('dataset-row-count').textContent()).toBe(CREDIT_ROWS);

    // Three more applications, as a file: the first lines of credit_data.csv.
    const lines = readFileSync(creditDataCsv, 'utf8').split('\n');
    const more = path.join(SHOTS, 'three-more.csv');
    writeFileSync(more, `${lines.slice(0, 4).join('\n')}\n`);
    const bad = path.join(SHOTS, 'bad-row.csv');
    writeFileSync(bad, `${lines[0]}\n${lines[1]!.replace(/,129,/, ',lots,')}\n`);
    await page.getByRole('button', { name: 'Append rows from a CSV' }).click();
    const append = page.getByRole('dialog', { name: 'Append rows to credit' });
    await append.locator('input[type=file]').setInputFiles(bad);
    await append.getByRole('button', { name: 'Append 1 row', exact: true }).click();
    await append.getByRole('alert').filter({ hasText: /line 2, column income: expected/ }).waitFor();
    await append.screenshot({ path: path.join(SHOTS, '01b-append-error-light.png') });
    await append.locator('input[type=file]').setInputFiles(more);
    await append.getByRole('button', { name: 'Append 3 rows' }).click();
    await append.getByRole('status').filter({ hasText: 'Appended 3 rows; credit now has 4,457 rows.' }).waitFor();
    await append.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect.poll(() => page.getByTestId('dataset-row-count').textContent()).toBe('4,457');
    await shots('01c-production-credit');
    // Back to the design project for the notebook.
    await page.goto(`/projects/${projectId}`);
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

  it('#7 adds endpoint and scenario cells; the scenario cell reads in words and its cron builder writes a schedule into the YAML', async () => {
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

  it('#9 #8 promotes with the dialog (its summary agrees with its detail), deploys; a key picked from the endpoints scores with curl and shows where it was used', async () => {
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Promote to a bundle' });
    await dialog.getByLabel('Release notes').waitFor({ timeout: 30_000 });
    // The first bundle: the model the notebook trained is in it, with its metrics.
    await dialog.locator('tr[data-model=credit-risk]').getByText('added').waitFor();
    // The summary counts what the detail lists: the endpoint and the scenario are added, by name.
    const summary = dialog.getByLabel('What changes');
    await summary.getByText('endpoints: 0 changed, 1 added, 0 removed').waitFor();
    await summary.getByText('scenarios: 0 changed, 1 added, 0 removed').waitFor();
    const detail = dialog.getByRole('region', { name: 'Endpoint and scenario changes' });
    expect((await detail.locator('li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim())).toEqual(['added endpoint credit-prod serves credit-risk', 'added scenario nightly']);
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

    // The key: its scope ticked from the project's endpoints and datasets, not typed; the secret shown once.
    await page.goto(`/projects/${projectId}/api-keys`);
    const form = page.getByRole('region', { name: 'Create an API key' });
    const picked = form.getByRole('group', { name: 'Endpoints and datasets' });
    await expect.poll(() => picked.locator('label.check code').allTextContents()).toEqual(['score:credit-prod', 'ingest:credit']);
    await form.getByLabel('Name', { exact: true }).fill('app');
    await form.locator('label.check', { hasText: 'read' }).first().getByRole('checkbox').uncheck();
    await picked.locator('label.check', { hasText: 'score:credit-prod' }).getByRole('checkbox').check();
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByTestId('api-key-secret').inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await shots('06b-api-key-created');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('api-key-secret').count()).toBe(0);
    const keyRow = page.getByRole('region', { name: 'API keys' }).getByRole('row').filter({ hasText: 'app' });
    expect(await keyRow.locator('.badge-scope').allTextContents()).toEqual(['score:credit-prod']);
    expect(await keyRow.getByText('Never').count()).toBe(1);

    const record = { seniority: 9, home: 'rent', time: 60, age: 30, marital: 'married', records: false, job: 'freelance', expenses: 73, income: 129, assets: 0, debt: 0, amount: 800, price: 846 };
    const out = execFileSync('curl', ['-sS', '-X', 'POST', '-H', 'content-type: application/json', '-H', `authorization: Bearer ${secret}`, '-d', JSON.stringify({ records: [record] }), `${server.baseUrl}/api/v1/endpoints/credit-prod/predict`], { encoding: 'utf8' });
    const body = JSON.parse(out) as { predictions: { label: string; probabilities: Record<string, number> }[] };
    expect(body.predictions).toHaveLength(1);
    expect(['good', 'bad']).toContain(body.predictions[0]!.label);
    expect(body.predictions[0]!.probabilities.good! + body.predictions[0]!.probabilities.bad!).toBeCloseTo(1, 6);
    // Where the key was last used: the list says when and from where (written shortly after the call).
    await expect
      .poll(
        async () => {
          await page.reload();
          await keyRow.waitFor();
          return keyRow.getByText('Never').count();
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBe(0);
    expect((await keyRow.locator('.key-last-where').textContent())?.length).toBeGreaterThan(0);
    await shots('06c-api-key-used');
  }, 120_000);

  it('#7 disables the scenario on the Production page without a new bundle, then enables it again', async () => {
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

  it('#5 #7 the audit trail tells it: targets by name with links, the scenario disabled and enabled, filters by a build and by a name', async () => {
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
  }, 60_000);

  it('#1 #3 #4 #2 the overview tells the truth, a breadcrumb leads to a list page, Ctrl+K finds the endpoint, an unknown model says so', async () => {
    await page.goto(`/projects/${projectId}`);
    const active = page.getByTestId('active-bundle');
    await active.getByText('Go live').waitFor();
    await page.getByRole('region', { name: 'Builds' }).locator('tbody tr').first().waitFor();
    // The endpoint with the traffic curl sent (request stats are written within seconds).
    const endpoint = page.locator('tr[data-endpoint="credit-prod"]');
    await expect
      .poll(
        async () => {
          await page.goto(`/projects/${projectId}`);
          await endpoint.waitFor();
          return (await endpoint.locator('td').nth(2).textContent())?.trim();
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe('1');
    expect(await page.getByText('No deployments yet.').count()).toBe(0);
    await shots('10-overview');

    await page.goto(`/projects/${projectId}/models/credit-risk`);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Models' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/models$`));
    await page.getByRole('link', { name: 'credit-risk', exact: true }).waitFor();
    await page.getByLabel('Search models').fill('zzz');
    await page.getByText('No model matches the search.').waitFor();
    await shots('11-models-page');

    await page.keyboard.press('Control+k');
    const box = page.getByRole('searchbox', { name: 'Search everything you can see' });
    await box.fill('credit-prod');
    await page.getByRole('listbox', { name: 'Results' }).getByRole('option').first().locator('.search-hit-name', { hasText: /^credit-prod$/ }).waitFor();
    await shots('12-search');
    await box.press('Enter');
    await page.waitForURL(new RegExp(`/projects/${projectId}/endpoints/credit-prod$`));
    await page.getByRole('heading', { name: 'credit-prod' }).waitFor();

    await page.goto(`/projects/${projectId}/models/nope`, { waitUntil: 'load' });
    const loaded = Date.now();
    await page.getByText('Model "nope" was not found').waitFor({ timeout: NOT_FOUND_MS });
    expect(Date.now() - loaded).toBeLessThan(NOT_FOUND_MS);
    expect(await page.locator('.loading').count()).toBe(0);
    await shots('13-not-found');
  }, 120_000);

  it('#9 invites a second person: the role legend says who promotes and who deploys; the confirmation keeps the email as typed', async () => {
    await page.goto(`/teams/${teamId}/members`);
    const legend = page.locator('dl.role-legend');
    await legend.waitFor();
    const help = Object.fromEntries(
      await legend.locator('dt').evaluateAll((dts) => dts.map((dt) => [dt.textContent?.trim() ?? '', dt.nextElementSibling?.textContent ?? ''])),
    ) as Record<string, string>;
    expect(help.editor).toMatch(/promotes bundles/);
    expect(help.editor).not.toMatch(/deploys/);
    expect(help.deployer).toMatch(/deploys/);
    const invite = page.getByRole('region', { name: 'Invite someone' });
    await invite.getByLabel('Email').fill('grace.hopper@example.com');
    await invite.getByLabel('Role').selectOption('editor');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    const notice = invite.getByRole('status');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/^grace\.hopper@example\.com is invited as editor/);
    // As shown, not only as stored: no CSS capitalising its first letter.
    expect(await notice.evaluate((el) => getComputedStyle(el, '::first-letter').textTransform)).toBe('none');
    await page.getByText('grace.hopper@example.com', { exact: true }).first().waitFor();
    await shots('14-members');
  }, 60_000);

  it('logged no client-side error on a valid page', () => {
    // The unknown model answers 404, the empty project name and the bad CSV row 400, by design: the browser logs each failed resource as a console error.
    const expected = /Failed to load resource: the server responded with a status of (404|400 \(Bad Request\) at \S+(\/trpc\/projects\.create\?|\/datasets\/credit\/rows\?))/;
    expect(pageErrors.filter((e) => !expected.test(e))).toEqual([]);
  });
});
