/**
 * The pipeline in the browser, end to end on a real server (child process, embedded PostgreSQL, its own
 * Temporal dev server): upload a CSV with progress, write SQL and check cells, see a diagnostic
 * appear and go as you type, Run all, watch the build on the run page, the cells and the Flow view,
 * then the dataset page with its preview and metrics. Screenshots go to tests/e2e/screenshots/pl-*.png.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { sharedDataFile } from '../helpers/data';
import { ensureNextBuild, startServer, type ServerChild } from './server';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CREDIT_ROWS = '4,454';

const analyst = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };

/**
 * Pastes into the focused editor, as a person pasting a snippet would: typing (even insertText) goes
 * through Monaco's auto-indent, which would re-indent YAML line by line.
 */
async function paste(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    document.activeElement?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (cell: Locator) => cell.locator('.monaco-editor').first();

describe('a pipeline in the browser: upload, diagnostics, build, flow, dataset page', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let scratch: string;
  const at: { projectId?: string; notebookUrl?: string; runUrl?: string } = {};

  const settle = () => page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 15_000 });
  const shot = async (name: string, opts: { fullPage?: boolean } = {}) => {
    await settle();
    // From the top: scrolled, the sticky top bar would be drawn across the middle of a full-page picture.
    if (opts.fullPage ?? true) await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: opts.fullPage ?? true });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    scratch = mkdtempSync(path.join(tmpdir(), 'sb-pipeline-e2e-'));
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 15_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 300_000);

  // What the page showed when a step failed, for the failure message's reader (tests/.tmp is not committed).
  afterEach(async ({ task }) => {
    if (task.result?.state !== 'fail' || !page) return;
    const dir = path.join(import.meta.dirname, '../.tmp/failed-screenshots');
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: path.join(dir, `pipeline-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 80)}.png`), fullPage: true }).catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('signs up, creates a team and a project, and shows the empty datasets and builds', async () => {
    await page.goto('/sign-up');
    await page.getByLabel('Email', { exact: true }).fill(analyst.email);
    await page.getByLabel('Name', { exact: true }).fill(analyst.name);
    await page.getByLabel('Password', { exact: true }).fill(analyst.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/teams$/);
    await page.getByLabel('Team name').fill('Credit Risk');
    await page.getByRole('button', { name: 'Create team' }).click();
    await page.waitForURL(new RegExp(`/teams/${UUID}$`));
    await page.getByLabel('Name', { exact: true }).fill('Loan approvals');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID}$`));
    at.projectId = page.url().split('/').pop();
    await page.getByRole('region', { name: 'Datasets' }).getByText('No datasets yet.').waitFor();
    await page.getByRole('region', { name: 'Builds' }).getByText('No builds yet.').waitFor();
  });

  it('refuses a malformed CSV naming the line and column, and keeps the dialog open to retry', async () => {
    const bad = path.join(scratch, 'broken_loans.csv');
    writeFileSync(bad, 'status,amount\ngood,800\nbad\n');
    await page.getByRole('button', { name: 'Upload CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload a CSV' });
    await dialog.locator('input[type=file]').setInputFiles(bad);
    expect(await dialog.getByLabel('Dataset name').inputValue()).toBe('broken_loans');
    expect(await dialog.getByLabel('Type of amount').inputValue()).toBe('integer');
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    const alert = dialog.getByRole('alert');
    await alert.filter({ hasText: /Line 3, column 2 \(amount\)/ }).waitFor();
    expect(await alert.textContent()).toContain('missing value');
    // The modal's backdrop covers the viewport only: dialogs are shot without scrolling.
    await shot('pl-01-upload-error', { fullPage: false });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it('uploads credit_data.csv with a progress bar, a corrected type, and shows 4,454 rows', async () => {
    await page.getByRole('button', { name: 'Upload CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Upload a CSV' });
    await dialog.locator('input[type=file]').setInputFiles(sharedDataFile('credit_data.csv'));
    expect(await dialog.getByLabel('Dataset name').inputValue()).toBe('credit_data');
    // Inferred in the browser before anything is sent; one is corrected by hand.
    expect(await dialog.getByLabel('Type of status').inputValue()).toBe('text');
    expect(await dialog.getByLabel('Type of income').inputValue()).toBe('integer');
    await dialog.getByLabel('Type of income').selectOption('numeric');
    await shot('pl-02-upload-review', { fullPage: false });

    // A slow uplink, so the bar is seen moving (loopback would finish before the first frame).
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 120 * 1024 });
    await dialog.getByRole('button', { name: 'Upload', exact: true }).click();
    const bar = dialog.getByRole('progressbar', { name: 'Upload progress' });
    await page.waitForFunction(() => {
      const v = Number(document.querySelector('[aria-label="Upload progress"]')?.getAttribute('aria-valuenow'));
      return v > 10 && v < 90;
    });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'pl-03-upload-progress.png') });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();

    await dialog.getByRole('status').filter({ hasText: `with ${CREDIT_ROWS} rows and 14 columns` }).waitFor({ timeout: 30_000 });
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    expect(await bar.getAttribute('aria-valuetext')).toContain(`Loaded ${CREDIT_ROWS} rows`);
    // The server's types, editable after the upload too.
    expect(await dialog.getByLabel('Type of income').inputValue()).toBe('numeric');
    await shot('pl-04-upload-done', { fullPage: false });
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    const row = page.getByRole('region', { name: 'Datasets' }).getByRole('row').filter({ hasText: 'credit_data' });
    await row.getByRole('cell', { name: CREDIT_ROWS }).waitFor();
    expect(await row.textContent()).toContain('source');
    await shot('pl-05-project-datasets');
  }, 60_000);

  it('shows a diagnostic for a misspelt dataset as the author types, and clears it once fixed', async () => {
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Approvals');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/projects/${at.projectId}/notebooks/${UUID}$`));
    at.notebookUrl = new URL(page.url()).pathname;
    await page.locator('.connection[data-state=connected]').waitFor();

    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    const sql = cellAt(page, 1);
    await editorOf(sql).waitFor();
    await page.keyboard.insertText("-- writes: good_loans\nselect * from credit_dta\nwhere status = 'good'");
    const problem = sql.locator('.cell-diagnostics .diagnostic', { hasText: 'credit_dta' });
    await problem.waitFor();
    expect(await problem.textContent()).toContain('Line 2');
    expect(await problem.textContent()).toContain('credit_data');
    // The same problem as a Monaco marker: a squiggle on the line, with the message on hover.
    await sql.locator('.squiggly-error').first().waitFor();
    await page.locator('.build-bar .compile-state-error').waitFor();
    await shot('pl-06-diagnostic');

    // Fix the typo where it is: after "credit_d" on line 2.
    await editorOf(sql).locator('.view-line').nth(1).click();
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.insertText('a');
    await sql.locator('.cell-diagnostics').waitFor({ state: 'detached' });
    await sql.locator('.squiggly-error').waitFor({ state: 'detached' });
    await page.locator('.build-bar .compile-state-ok').waitFor();
  });

  it('adds a downstream SQL cell and a check cell, runs everything and follows the build on the run page', async () => {
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    await editorOf(cellAt(page, 2)).waitFor();
    await paste(
      page,
      '-- writes: loans_by_home\nselect home, count(*) as loans, avg(amount) as avg_amount\nfrom good_loans\ngroup by home',
    );
    await page.getByRole('button', { name: 'Add Check cell' }).click();
    await editorOf(cellAt(page, 3)).waitFor();
    await paste(
      page,
      'dataset: good_loans\nchecks:\n- type: row_count\n  min: 1000\n- type: null_rate\n  column: income\n  max: 0.2\n  severity: warning\n- type: accepted_values\n  column: status\n  values: [good]',
    );
    await page.locator('.build-bar .compile-state-ok', { hasText: '2 datasets to build, 1 check cell' }).waitFor();
    await page.locator('.cell-diagnostics').first().waitFor({ state: 'detached' });

    await page.getByRole('button', { name: 'Run all' }).click();
    const open = page.locator('.build-bar').getByRole('link', { name: 'Open run' });
    await open.waitFor();
    await open.click();
    await page.waitForURL(new RegExp(`/projects/${at.projectId}/builds/${UUID}$`));
    at.runUrl = new URL(page.url()).pathname;
    // The page polls while the build runs: no reload.
    await page.locator('.page-title .build-status-succeeded').waitFor({ timeout: 60_000 });
    const steps = page.getByRole('region', { name: 'Steps' });
    expect(await steps.locator('tbody tr[data-status=succeeded]').count()).toBe(2);
    const goodLoans = steps.locator('tbody tr[data-step]').filter({ hasText: 'good_loans' }).first();
    expect(await goodLoans.locator('.check-chip[data-outcome=passed]').count()).toBe(3);
    expect(await page.locator('.timeline-bar-succeeded').count()).toBe(2);
    await goodLoans.getByRole('button', { name: /^Log/ }).click();
    await page.getByLabel('Log of good_loans').waitFor();
    await shot('pl-07-run-page');
  }, 90_000);

  it('shows each cell’s step, rows and checks in the notebook, and the graph in the Flow view', async () => {
    await page.goto(at.notebookUrl!);
    await page.locator('.connection[data-state=connected]').waitFor();
    for (const position of [1, 2, 3]) await cellAt(page, position).locator('.cell-build[data-status=succeeded]').waitFor();
    expect(await cellAt(page, 1).locator('.cell-build').textContent()).toMatch(/good_loans · [\d,]+ rows/);
    expect(await cellAt(page, 3).locator('.check-chip').count()).toBe(3);
    await shot('pl-08-notebook-built');

    await page.getByRole('button', { name: 'Flow', exact: true }).click();
    const flow = page.getByTestId('flow-view');
    await flow.locator('.react-flow__node').first().waitFor();
    // credit_data, good_loans, loans_by_home; two SQL cells and a check cell.
    expect(await flow.locator('.react-flow__node-dataset').count()).toBe(3);
    expect(await flow.locator('.react-flow__node-cell').count()).toBe(3);
    expect(await flow.locator('.react-flow__edge').count()).toBe(5);
    expect(await flow.locator('.flow-node-succeeded').count()).toBe(5);
    await shot('pl-09-flow');

    // A cell node opens the cell in the notebook.
    // Named by what the cell makes.
    await flow.getByRole('button', { name: 'loans_by_home: open in the notebook' }).click();
    await cellAt(page, 2).and(page.locator('.cell-flash')).waitFor();
    expect(await flow.isVisible()).toBe(false);
    // The editors were laid out again after being hidden under the Flow tab.
    expect((await editorOf(cellAt(page, 2)).boundingBox())!.height).toBeLessThan(200);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'pl-09b-cell-from-flow.png') });

    // Build again from the first cell: it and what depends on it, so the metrics have a history.
    const firstRun = await page.locator('.build-bar').getByRole('link', { name: 'Open run' }).getAttribute('href');
    await page.getByRole('button', { name: 'Run cell 1 and downstream' }).click();
    await page.waitForFunction((href) => {
      const link = document.querySelector('.build-bar a[href*="/builds/"]');
      return link && link.getAttribute('href') !== href && document.querySelector('.build-bar .build-status-succeeded');
    }, firstRun, { timeout: 60_000 });
    await cellAt(page, 2).locator('.cell-build[data-status=succeeded]').waitFor();

    // A dataset node opens the dataset page.
    await page.getByRole('button', { name: 'Flow', exact: true }).click();
    await flow.getByRole('button', { name: 'Dataset good_loans: open' }).click();
    await page.waitForURL(new RegExp(`/projects/${at.projectId}/datasets/good_loans$`));
  });

  it('shows the built dataset with its cells, preview and metrics charts', async () => {
    await page.getByRole('heading', { name: 'good_loans' }).waitFor();
    const rows = Number((await page.getByTestId('dataset-row-count').textContent())!.replace(/\D/g, ''));
    expect(rows).toBeGreaterThan(1000);
    const cells = page.getByRole('region', { name: 'Cells' });
    await cells.locator('[data-role=writes]').getByRole('link', { name: 'Approvals · cell 1' }).waitFor();
    await cells.locator('[data-role=reads]').getByRole('link', { name: 'Approvals · cell 2' }).waitFor();
    await cells.locator('[data-role=checks]').getByRole('link', { name: 'Approvals · cell 3' }).waitFor();
    const grid = page.getByRole('grid', { name: 'Rows of good_loans' });
    await grid.locator('.result-grid-row').first().waitFor();
    await page.getByRole('region', { name: 'Preview' }).getByText(`First 500 of ${rows.toLocaleString('en-US')} rows`).waitFor();
    const metrics = page.getByRole('region', { name: 'Metrics' });
    // Two builds: a line through two points on each chart.
    const rowChart = metrics.getByRole('figure', { name: 'Row count over builds' });
    // (An unchanged row count is a flat line: no height, so "attached" rather than "visible".)
    await rowChart.locator('.recharts-line-curve').waitFor({ state: 'attached' });
    expect(await rowChart.locator('.recharts-line-curve').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+$/);
    expect(await rowChart.locator('.recharts-line-dots circle').count()).toBe(2);
    const nullChart = metrics.getByRole('figure', { name: 'Null rate by column over builds' });
    await nullChart.locator('.recharts-line-curve').first().waitFor({ state: 'attached' });
    await nullChart.locator('.recharts-legend-item', { hasText: 'income' }).waitFor();
    // The preview is the notebook's grid: two clicks on a header sort it largest first.
    const amount = grid.getByRole('columnheader').filter({ hasText: /^amount/ });
    await amount.getByRole('button').click();
    await amount.getByRole('button').click();
    expect(await amount.getAttribute('aria-sort')).toBe('descending');
    const column = await grid.getByRole('columnheader').evaluateAll((hs) => hs.findIndex((h) => h.textContent?.startsWith('amount')));
    const top = await grid.locator('.result-grid-row').evaluateAll((rs, c) => rs.slice(0, 2).map((r) => Number(r.children[c]?.textContent)), column);
    expect(top[0]).toBeGreaterThanOrEqual(top[1]!);
    await shot('pl-10-dataset-built');

    // A reader links to its cell: the notebook opens there.
    await cells.locator('[data-role=reads]').getByRole('link', { name: 'Approvals · cell 2' }).click();
    await page.waitForURL(/\/notebooks\/.+\?cell=/);
    await cellAt(page, 2).and(page.locator('.cell-flash')).waitFor();
  });

  it('shows the uploaded source with its schema and readers, and the build on the project page', async () => {
    await page.goto(`/projects/${at.projectId}/datasets/credit_data`);
    await page.getByTestId('dataset-row-count').filter({ hasText: CREDIT_ROWS }).waitFor();
    expect(await page.getByLabel('Type of income').inputValue()).toBe('numeric');
    await page.getByRole('region', { name: 'Cells' }).locator('[data-role=reads]').getByRole('link', { name: 'Approvals · cell 1' }).waitFor();
    // A source's column type can be changed in place: the stored values are converted.
    await page.getByLabel('Type of seniority').selectOption('numeric');
    await page.waitForFunction(() => {
      const select = document.querySelector<HTMLSelectElement>('select[aria-label="Type of seniority"]');
      return select && !select.disabled && select.value === 'numeric';
    });
    await page.reload();
    await page.getByLabel('Type of seniority').waitFor();
    expect(await page.getByLabel('Type of seniority').inputValue()).toBe('numeric');
    await shot('pl-11-dataset-source');

    await page.goto(`/projects/${at.projectId}`);
    const builds = page.getByRole('region', { name: 'Builds' });
    await builds.locator('tbody tr .build-status-succeeded').first().waitFor();
    expect(await builds.locator('tbody tr .build-status-succeeded').count()).toBe(2);
    await shot('pl-12-project-home');
  });

  it('cancels a running build from the notebook', async () => {
    await page.goto(at.notebookUrl!);
    await page.locator('.connection[data-state=connected]').waitFor();
    // Two slow steps, one after the other. When the cancel lands depends on where the build is, so the
    // steps' outcome is not asserted, only that the run ends cancelled and settled.
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    await editorOf(cellAt(page, 4)).waitFor();
    await paste(page, '-- writes: many_numbers\nselect g as n, md5(g::text) as h\nfrom generate_series(1, 2000000) as g');
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    await editorOf(cellAt(page, 5)).waitFor();
    await paste(page, '-- writes: many_hashes\nselect n, md5(h) as hh from many_numbers');
    await page.locator('.build-bar .compile-state-ok', { hasText: '4 datasets to build' }).waitFor();
    await page.getByRole('button', { name: 'Run cell 4 and downstream' }).click();
    const cancel = page.locator('.build-bar').getByRole('button', { name: 'Cancel' });
    await cancel.click({ timeout: 30_000 });
    await page.locator('.build-bar .build-status-cancelled').waitFor({ timeout: 60_000 });
    for (const position of [4, 5]) expect(await cellAt(page, position).locator('.cell-build').getAttribute('data-status')).toMatch(/^(succeeded|cancelled)$/);
    await cancel.waitFor({ state: 'detached' });
    // Cells this build did not run keep showing their last result, marked as from an earlier build.
    await cellAt(page, 1).locator('.cell-build-older[data-status=succeeded]').waitFor();
    await shot('pl-13-cancelled');
    await page.locator('.build-bar').getByRole('link', { name: 'Open run' }).click();
    await page.locator('.page-title .build-status-cancelled').waitFor();
    await shot('pl-14-run-cancelled');
  }, 120_000);

  it('ran without client-side errors', () => {
    // Chromium logs every 4xx response; the refused upload was one on purpose.
    const unexpected = pageErrors.filter((e) => !/status of 400 .*\/datasets\?name=broken_loans/.test(e));
    // The server's log says why, when a request failed on its side.
    expect(unexpected, unexpected.length ? server.logTail() : undefined).toEqual([]);
  });
});
