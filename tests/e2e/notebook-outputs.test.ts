/**
 * Results under cells, shared live (issue 11), in the browser on a real server: Ada and Bea, two
 * editors in two isolated contexts. Ada runs a cell from a template; Bea sees the grid and the chart
 * Ada configured; profiles render; autocomplete suggests a column; Jupyter's keys work; Ada's
 * half-typed cell does not stop Bea's Run all; the Flow view names cells; a 100,000-row result
 * streams in, renders and scrolls; a stored `<img onerror>` value stays text; Vic, a viewer, sees it
 * all live and cannot run; a failed check names its cell and value; a wide Flow keeps its zoom
 * controls on screen. Screenshots: screenshots/no-*.png.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchSharedBrowser, type SharedBrowser } from '../helpers/browser';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { accountWithProject, approveInvitation, paste, screenshotOnFailure, SCREENSHOTS, signUp, uploadCsv } from './setup';

const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };
const bea = { email: 'bea@example.com', name: 'Bea Morgan', password: 'second-opinion-2026' };
const vic = { email: 'vic@example.com', name: 'Vic Reader', password: 'just-looking-2026' };
const XSS = '<img src=x onerror=window.__xss=1>';
const CATEGORIES = ['east', 'north', 'south', 'west'];
const ROWS = 300;

/** 300 sales: amount i*1.5, category by i % 4, a timestamp per hour from 2026-01-05 10:00 UTC, notes with NULLs and one attack. */
function salesCsv(): string {
  const lines = ['id,category,amount,sold_at,note'];
  for (let i = 1; i <= ROWS; i++) {
    const at = new Date(Date.UTC(2026, 0, 5, 10) + (i - 1) * 3_600_000).toISOString();
    const note = i === 1 ? XSS : i % 3 === 0 ? '' : `note ${i}`;
    lines.push(`${i},${CATEGORIES[i % 4]},${(i * 1.5).toFixed(1)},${at},${note}`);
  }
  return `${lines.join('\n')}\n`;
}

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (cell: Locator) => cell.locator('.monaco-editor').first();

async function editorText(editor: Locator): Promise<string> {
  return editor.evaluate((el) =>
    [...el.querySelectorAll<HTMLElement>('.view-line')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' '))
      .join('\n'),
  );
}

describe('cell outputs in the browser: shared results, profiles, charts, keys, Flow names', () => {
  let server: ServerChild;
  let browser: SharedBrowser;
  let scratch: string;
  const pages: { a?: Page; b?: Page; v?: Page } = {};
  const errors: { a: string[]; b: string[] } = { a: [], b: [] };
  const at: { projectId?: string; notebookId?: string; notebookUrl?: string; vicCookie?: string } = {};
  const a = () => pages.a!;
  const b = () => pages.b!;
  const shot = async (page: Page, name: string) => {
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 15_000 });
    // From the top: scrolled, a full-page picture draws the sticky bars across the middle.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    scratch = mkdtempSync(path.join(tmpdir(), 'sb-outputs-e2e-'));
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchSharedBrowser({ baseURL: server.baseUrl, timeout: 20_000 });
  }, 400_000);

  afterEach(async ({ task }) => {
    await screenshotOnFailure(pages.a, 'outputs-a', task);
    await screenshotOnFailure(pages.b, 'outputs-b', task);
    await screenshotOnFailure(pages.v, 'outputs-v', task);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('opens one notebook for two editors, in Tokyo time', async () => {
    const { cookie, teamId, projectId } = await accountWithProject(server.baseUrl, ada, { team: 'Sales', project: 'Regional sales' });
    at.projectId = projectId;
    await trpcMutation(server.baseUrl, 'teams.invite', { teamId, email: bea.email, role: 'editor' }, cookie);
    const beaCookie = await signUp(server.baseUrl, bea);
    await approveInvitation(server.baseUrl, cookie, teamId, bea.email);
    await trpcMutation(server.baseUrl, 'teams.invite', { teamId, email: vic.email, role: 'viewer' }, cookie);
    at.vicCookie = await signUp(server.baseUrl, vic);
    await approveInvitation(server.baseUrl, cookie, teamId, vic.email);
    const file = path.join(scratch, 'sales.csv');
    writeFileSync(file, salesCsv());
    await uploadCsv(server.baseUrl, cookie, projectId, 'sales', file);
    const notebook = (await trpcMutation(server.baseUrl, 'notebooks.create', { projectId, name: 'Sales review' }, cookie)) as { id: string };
    at.notebookId = notebook.id;
    at.notebookUrl = `/projects/${projectId}/notebooks/${notebook.id}`;

    for (const [who, c] of [['a', cookie], ['b', beaCookie]] as const) {
      const { context, page } = await browser.newContext();
      const [name, ...value] = c.split('=');
      await context.addCookies([{ name: name!, value: value.join('='), url: server.baseUrl }]);
      // Timestamps must show in the viewer's zone and locale, not UTC.
      const cdp = await context.newCDPSession(page);
      await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Tokyo' });
      await cdp.send('Emulation.setLocaleOverride', { locale: 'en-US' });
      errors[who] = collectPageErrors(page);
      pages[who] = page;
      await page.goto(at.notebookUrl);
      await page.locator('.connection[data-state=connected]').waitFor();
    }
  }, 120_000);

  it('starts a new SQL cell from a template that reads the last dataset and compiles', async () => {
    await a().getByRole('button', { name: 'Add SQL cell' }).click();
    const cell = cellAt(a(), 1);
    await editorOf(cell).waitFor();
    const text = await editorText(editorOf(cell));
    expect(text).toMatch(/^-- writes: sales_2\n/);
    expect(text).toContain('from sales');
    await a().locator('.build-bar .compile-state-ok', { hasText: '1 dataset to build' }).waitFor({ timeout: 20_000 });
    // Named after what it makes (from the compile), in the placeholder of its title.
    await cell.locator('input[aria-label="Name of cell 1"][placeholder="sales_2"]').waitFor();
  });

  it('runs with Ctrl+Enter: Ada sees the grid, and Bea sees it too (time printed)', async () => {
    const aOut = cellAt(a(), 1).getByTestId('cell-output').locator('.result-grid-row').first();
    const bOut = cellAt(b(), 1).getByTestId('cell-output').locator('.result-grid-row').first();
    await editorOf(cellAt(a(), 1)).locator('.view-lines').click();
    const started = Date.now();
    await a().keyboard.press('Control+Enter');
    const [aSaw, bSaw] = await Promise.all([aOut.waitFor({ timeout: 60_000 }).then(() => Date.now()), bOut.waitFor({ timeout: 60_000 }).then(() => Date.now())]);
    console.log(`[notebook-outputs] run to Ada's grid ${aSaw - started} ms; Ada's grid to Bea's grid ${bSaw - aSaw} ms`);
    expect(bSaw - aSaw).toBeLessThan(5_000);

    const out = cellAt(a(), 1).getByTestId('cell-output');
    expect(await out.getByTestId('row-summary').textContent()).toBe(`${ROWS} rows`);
    const heads = await out.locator('.result-grid-head [role=columnheader]').allTextContents();
    expect(heads).toEqual(['#', 'idint', 'categorytext', 'amountnum', 'sold_attime', 'notetext']);
    const first = out.locator('.result-grid-row').first().getByRole('gridcell');
    // 2026-01-05 10:00 UTC is 19:00 in Tokyo.
    expect(await first.nth(3).textContent()).toBe('Jan 5, 2026, 7:00:00 PM');
    // The attack value is text: no image element, no script ran.
    expect(await first.nth(4).textContent()).toBe(XSS);
    expect(await out.locator('img').count()).toBe(0);
    expect(await a().evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await b().evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    // Row 3's note is NULL, shown as a chip, not as an empty string or "null" text.
    expect(await out.locator('.result-grid-row').nth(2).getByRole('gridcell').nth(4).locator('.null').textContent()).toBe('NULL');
    expect(await out.locator('a', { hasText: 'Download CSV' }).getAttribute('href')).toMatch(/\/result\.csv$/);
    await shot(a(), 'no-01-grid-ada');
    await shot(b(), 'no-02-grid-bea');
  }, 90_000);

  it('gets a run to Bea about when Ada gets it (both numbers printed over 7 runs)', async () => {
    // Two numbers per run: what the test sees (each page's grid showing the new output, observed by
    // polling) and what the pages record (when each received the output, on one browser clock).
    const seen: number[] = [];
    const received: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = await cellAt(a(), 1).getByTestId('cell-output').getAttribute('data-output-id');
      const changed = (page: Page) =>
        page
          .waitForFunction((id) => document.querySelector('section.cell [data-testid=cell-output]')?.getAttribute('data-output-id') !== id, before, { timeout: 30_000 })
          .then(() => Date.now());
      const [aSaw, bSaw] = await Promise.all([changed(a()), changed(b()), a().getByRole('button', { name: 'Run cell 1', exact: true }).click()]);
      seen.push(bSaw - aSaw);
      const receivedAt = async (page: Page) => Number(await cellAt(page, 1).getByTestId('cell-output').getAttribute('data-received-at'));
      const [aGot, bGot] = await Promise.all([receivedAt(a()), receivedAt(b())]);
      received.push(bGot - aGot);
      expect(await cellAt(b(), 1).getByTestId('cell-output').getAttribute('data-output-id')).toBe(await cellAt(a(), 1).getByTestId('cell-output').getAttribute('data-output-id'));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
    console.log(
      `[notebook-outputs] Ada's output to Bea's, 7 runs: as seen by the test ${seen.join(', ')} ms (median ${median(seen)}); as received by the pages ${received.join(', ')} ms (median ${median(received)})`,
    );
    expect(median(received)).toBeLessThan(5_000);
  }, 120_000);

  it('sorts, filters and copies in the grid', async () => {
    const out = cellAt(a(), 1).getByTestId('cell-output');
    const amount = out.getByRole('columnheader').filter({ hasText: /^amount/ });
    await amount.getByRole('button').click();
    await amount.getByRole('button').click();
    expect(await out.locator('.result-grid-row').first().getByRole('gridcell').nth(2).textContent()).toBe(String(ROWS * 1.5));
    await out.getByLabel('Filter category').fill('west');
    await out.getByText(`${ROWS / 4} match the filters`).waitFor();
    await a().context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await out.locator('.result-grid-row').first().getByRole('gridcell').nth(1).click();
    await a().keyboard.press('Control+C');
    await out.getByRole('status').filter({ hasText: 'Copied the cell' }).waitFor();
    expect(await a().evaluate(() => navigator.clipboard.readText())).toBe('west');
    await out.getByLabel('Filter category').fill('');
  });

  it('profiles every column: histogram or top values, null share, distinct count', async () => {
    const out = cellAt(a(), 1).getByTestId('cell-output');
    await out.getByRole('tab', { name: 'Profile' }).click();
    await out.locator('.profile').first().waitFor();
    expect(await out.locator('.profile').count()).toBe(5);
    const amount = out.locator('.profile[data-column=amount]');
    expect(await amount.locator('.profile-bar').count()).toBeGreaterThan(1);
    const category = out.locator('.profile[data-column=category]');
    expect((await category.locator('.profile-top-value').allTextContents()).sort()).toEqual(CATEGORIES);
    expect(await category.locator('.profile-facts').textContent()).toContain('distinct4');
    // 100 of 300 notes are empty in the file, loaded as NULL: a third.
    expect(await out.locator('.profile[data-column=note] .profile-facts').textContent()).toContain('null33.3%');
    await shot(a(), 'no-03-profile');
  });

  it('charts the sum of amount by category; Bea sees the chart Ada configured', async () => {
    const out = cellAt(a(), 1).getByTestId('cell-output');
    await out.getByRole('tab', { name: 'Chart' }).click();
    await out.getByLabel('Chart type').selectOption('bar');
    await out.getByLabel('x column').selectOption('category');
    await out.getByLabel('y column').selectOption('amount');
    await out.getByLabel('Aggregation').selectOption('sum');
    const figure = out.getByRole('figure', { name: 'bar chart of sum of amount by category' });
    await figure.locator('.recharts-bar-rectangle').first().waitFor({ timeout: 30_000 });
    expect(await figure.locator('.recharts-bar-rectangle').count()).toBe(4);
    expect(await figure.locator('.recharts-cartesian-axis-tick-value').allTextContents()).toEqual(expect.arrayContaining(CATEGORIES));

    const bOut = cellAt(b(), 1).getByTestId('cell-output');
    await bOut.getByRole('tab', { name: 'Chart' }).click();
    const bFigure = bOut.getByRole('figure', { name: 'bar chart of sum of amount by category' });
    await bFigure.locator('.recharts-bar-rectangle').first().waitFor({ timeout: 30_000 });
    expect(await bOut.getByLabel('x column').inputValue()).toBe('category');
    expect(await bOut.getByLabel('Aggregation').inputValue()).toBe('sum');
    expect(await bFigure.locator('.recharts-bar-rectangle').count()).toBe(4);
    await shot(a(), 'no-04-chart-ada');
    await shot(b(), 'no-05-chart-bea');
    // Changed by Ada, changed for Bea.
    await out.getByLabel('Chart type').selectOption('line');
    await bOut.getByRole('figure', { name: 'line chart of sum of amount by category' }).waitFor();
  }, 90_000);

  it('suggests a column of the dataset the SQL reads', async () => {
    const page = a();
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    const cell = cellAt(page, 2);
    await editorOf(cell).waitFor();
    await page.keyboard.insertText('-- writes: by_category\nselect \nfrom sales');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('End');
    await page.keyboard.press('Control+Space');
    const suggest = page.locator('.suggest-widget.visible');
    await suggest.getByText('amount', { exact: true }).waitFor();
    await suggest.getByText('sold_at', { exact: true }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'no-06-autocomplete.png') });
    await page.keyboard.press('Enter');
    await page.keyboard.insertText(', category');
    expect(await editorText(editorOf(cell))).toContain('select amount, category');
  });

  it('keeps Jupyter keys: Esc, k/j, b, dd, Enter, Shift+Enter and ? for the list', async () => {
    const page = a();
    const focused = () => page.evaluate(() => [...document.querySelectorAll('section.cell')].indexOf(document.activeElement as Element) + 1);
    // Esc first closes what Monaco has open (typing may have popped up suggestions), then leaves the editor.
    for (let i = 0; i < 3 && (await focused()) === 0; i++) {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(150);
    }
    expect(await focused()).toBe(2);
    await page.keyboard.press('k');
    expect(await focused()).toBe(1);
    await page.keyboard.press('j');
    expect(await focused()).toBe(2);
    await page.keyboard.press('b');
    await page.locator('section.cell').nth(2).waitFor();
    expect(await page.locator('section.cell').count()).toBe(3);
    await page.waitForFunction(() => document.activeElement?.closest('section.cell') === document.querySelectorAll('section.cell')[2]);
    // The new cell's template is selected: the first Esc may only drop the selection.
    for (let i = 0; i < 3 && (await focused()) === 0; i++) {
      await page.keyboard.press('Escape');
      await page.waitForTimeout(150);
    }
    expect(await focused()).toBe(3);
    await page.keyboard.press('d');
    await page.keyboard.press('d');
    await page.waitForFunction(() => document.querySelectorAll('section.cell').length === 2);
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts and help' });
    await help.getByText('Previews, scratch queries and outputs').waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'no-07-shortcuts.png') });
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'hidden' });
    // Shift+Enter in cell 1 runs it and moves into cell 2's editor.
    await page.keyboard.press('k');
    await page.keyboard.press('Enter');
    const before = await cellAt(page, 1).getByTestId('cell-output').getAttribute('data-output-id');
    await page.keyboard.press('Shift+Enter');
    await page.waitForFunction(() => document.activeElement?.closest('section.cell') === document.querySelectorAll('section.cell')[1]);
    await page.waitForFunction((id) => document.querySelector('section.cell [data-testid=cell-output]')?.getAttribute('data-output-id') !== id, before, { timeout: 60_000 });
  }, 90_000);

  it('lets Bea Run all while Ada’s half-typed cell is broken: that cell is skipped, the rest builds', async () => {
    const page = a();
    const cell = cellAt(page, 2);
    await editorOf(cell).locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText('-- writes: by_category\nselect category, sum(amount) as total fro sales group by 1');
    await cellAt(b(), 2).locator('.cell-diagnostics .diagnostic-error').waitFor({ timeout: 20_000 });
    const runAll = b().getByRole('button', { name: 'Run all' });
    expect(await runAll.isEnabled()).toBe(true);
    await runAll.click();
    const skipped = b().getByTestId('skipped-cells');
    await skipped.waitFor({ timeout: 30_000 });
    expect(await skipped.textContent()).toContain('by_category');
    await cellAt(b(), 1).locator('.cell-build[data-status=succeeded]').waitFor({ timeout: 120_000 });
    await shot(b(), 'no-08-run-all-skips-broken');
  }, 180_000);

  it('names cells in the Flow view, at a legible size', async () => {
    const page = b();
    await page.getByRole('button', { name: 'Flow', exact: true }).click();
    const flow = page.getByTestId('flow-view');
    await flow.getByRole('button', { name: 'sales_2: open in the notebook' }).waitFor();
    expect(await flow.getByText(/^Cell \d/).count()).toBe(0);
    // The label's rendered size: its font size times the view's zoom.
    const px = await flow.locator('.flow-node-title').first().evaluate((el) => el.getBoundingClientRect().height);
    expect(px).toBeGreaterThanOrEqual(14);
    await shot(page, 'no-09-flow');
    await page.getByRole('button', { name: 'Cells', exact: true }).click();
  });

  it('renders and scrolls a 100,000-row result (time to first paint printed)', async () => {
    const page = a();
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    const cell = cellAt(page, 3);
    await editorOf(cell).waitFor();
    // The new cell's editor takes focus once mounted; on a loaded machine that is after it appears, and
    // a paste before it would go to the Add button. Paste only into that editor, and run only what shows.
    await page.waitForFunction(() => document.activeElement?.closest('section.cell') === document.querySelectorAll('section.cell')[2] && !!document.activeElement?.closest('.monaco-editor'), undefined, { timeout: 30_000 });
    await paste(page, "select g as n, md5(g::text) as h, timestamp '2026-01-01' + g * interval '1 minute' as at\nfrom generate_series(1, 100000) as g");
    await expect.poll(() => editorText(editorOf(cell)), { timeout: 15_000 }).toContain('generate_series(1, 100000)');
    const out = cell.getByTestId('cell-output');
    await page.keyboard.press('Control+Enter');
    await out.getByTestId('row-summary').filter({ hasText: '1,000 of 100,000 rows' }).waitFor({ timeout: 90_000 });
    // Show all streams every row (NDJSON from a cursor): the first rows paint while the rest arrive.
    const t0 = Date.now();
    await out.getByRole('button', { name: 'Show all 100,000 rows' }).click();
    await out.getByTestId('row-summary').filter({ hasText: /loading…$|^100,000 rows$/ }).waitFor({ timeout: 60_000 });
    const firstPaint = Date.now() - t0;
    await out.getByTestId('row-summary').filter({ hasText: /^100,000 rows$/ }).waitFor({ timeout: 120_000 });
    const allRows = Date.now() - t0;
    console.log(`[notebook-outputs] Show all 100,000 rows: click to first rows painted ${firstPaint} ms, to all rows in the grid ${allRows} ms`);
    // Only the rows in view are in the DOM, and scrolling to the end reaches row 100,000 with its own values.
    expect(await out.locator('.result-grid-row').count()).toBeLessThan(60);
    const scroller = out.locator('.result-grid-scroll');
    const s0 = Date.now();
    await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    const last = out.locator('.result-grid-row', { has: a().locator('.result-grid-num', { hasText: /^100,000$/ }) });
    await last.waitFor({ timeout: 30_000 });
    console.log(`[notebook-outputs] scroll to row 100,000 painted in ${Date.now() - s0} ms`);
    // Row 100,000 is g = 100000: md5('100000') and 2026-01-01 00:00 + 100,000 minutes = Mar 11 10:40 UTC, 19:40 in Tokyo.
    const cells = last.getByRole('gridcell');
    expect(await cells.nth(0).textContent()).toBe('100000');
    expect(await cells.nth(1).textContent()).toBe(createHash('md5').update('100000').digest('hex'));
    expect(await cells.nth(2).textContent()).toBe('Mar 11, 2026, 7:40:00 PM');
    // Half way, by dragging the scrollbar's position: row 50,000 is there too.
    await scroller.evaluate((el) => el.scrollTo(0, 49_999 * 28));
    await out.locator('.result-grid-num', { hasText: /^50,000$/ }).waitFor({ timeout: 30_000 });
    await shot(page, 'no-10-large-result');
    expect(errors.a).toEqual([]);
    expect(errors.b).toEqual([]);
  }, 240_000);

  it('shows a viewer the shared results, profiles and chart, live, with no way to run a cell', async () => {
    const { context, page } = await browser.newContext();
    const [name, ...value] = at.vicCookie!.split('=');
    await context.addCookies([{ name: name!, value: value.join('='), url: server.baseUrl }]);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Tokyo' });
    await cdp.send('Emulation.setLocaleOverride', { locale: 'en-US' });
    const vErrors = collectPageErrors(page);
    pages.v = page;
    await page.goto(at.notebookUrl!);
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.locator('.badge-readonly', { hasText: 'read-only' }).waitFor();
    const out = cellAt(page, 1).getByTestId('cell-output');
    await out.getByTestId('row-summary').filter({ hasText: `${ROWS} rows` }).waitFor({ timeout: 30_000 });
    expect(await out.locator('.result-grid-row').first().getByRole('gridcell').nth(3).textContent()).toBe('Jan 5, 2026, 7:00:00 PM');
    // Nothing to run with: no Run, Build or Run all buttons, and the server refuses the call itself.
    expect(await page.getByRole('button', { name: /^Run cell \d/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Run all' }).count()).toBe(0);
    await expect(trpcMutation(server.baseUrl, 'notebooks.runCell', { projectId: at.projectId, notebookId: at.notebookId, cellId: await cellAt(page, 1).getAttribute('data-cell-id') }, at.vicCookie)).rejects.toThrow(/403|FORBIDDEN/);
    // Ctrl+Enter in the read-only editor runs nothing either.
    const before = await out.getAttribute('data-output-id');
    await editorOf(cellAt(page, 1)).locator('.view-lines').click();
    await page.keyboard.press('Control+Enter');
    // Profiles and the chart Ada configured (a line of sums), with the controls read-only.
    await out.getByRole('tab', { name: 'Profile' }).click();
    await out.locator('.profile').first().waitFor();
    expect(await out.locator('.profile').count()).toBe(5);
    await out.getByRole('tab', { name: 'Chart' }).click();
    await out.getByRole('figure', { name: 'line chart of sum of amount by category' }).locator('.recharts-line').waitFor({ timeout: 30_000 });
    expect(await out.getByLabel('Chart type').isDisabled()).toBe(true);
    // Seconds after the Ctrl+Enter: still Ada's output, nothing ran.
    expect(await out.getAttribute('data-output-id')).toBe(before);
    // The 100,000-row result is there too, and a viewer may page through all of it.
    const big = cellAt(page, 3).getByTestId('cell-output');
    await big.getByTestId('row-summary').filter({ hasText: '1,000 of 100,000 rows' }).waitFor();
    expect(await big.getByRole('button', { name: 'Show all 100,000 rows' }).isVisible()).toBe(true);
    await shot(page, 'no-11-viewer');
    // Ada runs cell 1 again: the viewer sees the new output arrive, pushed (the time is printed).
    await out.getByRole('tab', { name: 'Table' }).click();
    const t0 = Date.now();
    await a().getByRole('button', { name: 'Run cell 1', exact: true }).click();
    await a().waitForFunction((id) => document.querySelector('section.cell [data-testid=cell-output]')?.getAttribute('data-output-id') !== id, before, { timeout: 60_000 });
    const adaSaw = Date.now();
    await page.waitForFunction((id) => document.querySelector('section.cell [data-testid=cell-output]')?.getAttribute('data-output-id') !== id, before, { timeout: 30_000 });
    console.log(`[notebook-outputs] viewer: Ada's run to Ada's output ${adaSaw - t0} ms; Ada's output to the viewer's ${Date.now() - adaSaw} ms`);
    expect(await out.getAttribute('data-output-id')).toBe(await cellAt(a(), 1).getByTestId('cell-output').getAttribute('data-output-id'));
    expect(vErrors).toEqual([]);
  }, 120_000);

  it('names the cell and gives the value against the threshold when a check fails', async () => {
    const page = a();
    await page.getByRole('button', { name: 'Add Check cell' }).click();
    const cell = cellAt(page, 4);
    await editorOf(cell).waitFor();
    await page.waitForFunction(() => document.activeElement?.closest('section.cell') === document.querySelectorAll('section.cell')[3] && !!document.activeElement?.closest('.monaco-editor'), undefined, { timeout: 30_000 });
    await page.keyboard.press('Control+A');
    await paste(page, 'dataset: sales_2\nchecks:\n  - type: row_count\n    min: 4000\n');
    await expect.poll(() => editorText(editorOf(cell)), { timeout: 15_000 }).toContain('min: 4000');
    await page.locator('.build-bar .compile-state-ok, .build-bar .compile-state-error').first().waitFor();
    await page.getByRole('button', { name: 'Run all' }).click();
    const failed = cellAt(page, 1).locator('.cell-build[data-status=failed]');
    await failed.waitFor({ timeout: 120_000 });
    const message = 'sales_2: check row_count failed (300 rows, min 4,000); "sales_2" was not published (the previous data stays)';
    expect(await failed.locator('.cell-build-error').textContent()).toBe(message);
    await failed.locator('.cell-build-link').click();
    const row = page.locator('tr[data-status=failed]').first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.locator('.check-chip[data-outcome=failed]').textContent()).toContain('row_count 300 rows vs min 4,000');
    expect(await page.locator('.step-error-row .row-error').first().textContent()).toBe(message);
    await shot(page, 'no-12-check-failure-named');
  }, 180_000);

  it('keeps the Flow view’s zoom controls on screen for a graph wider than the page, and fits it on demand', async () => {
    const page = a();
    await page.goto(at.notebookUrl!);
    await page.locator('.connection[data-state=connected]').waitFor();
    // A chain of ten SQL cells, each reading what the one before writes: sales_2 -> step_1 -> ... -> step_9.
    let last = 'sales_2';
    for (let k = 1; k <= 9; k++) {
      await page.getByRole('button', { name: 'Add SQL cell' }).click();
      const position = k + 4;
      await page.waitForFunction(
        (i) => document.activeElement?.closest('section.cell') === document.querySelectorAll('section.cell')[i] && !!document.activeElement?.closest('.monaco-editor'),
        position - 1,
        { timeout: 30_000 },
      );
      await page.keyboard.press('Control+A');
      await paste(page, `-- writes: step_${k}\nselect * from ${last}`);
      await expect.poll(() => editorText(editorOf(cellAt(page, position))), { timeout: 15_000 }).toContain(`select * from ${last}`);
      last = `step_${k}`;
    }
    await page.getByRole('button', { name: 'Flow', exact: true }).click();
    const flow = page.getByTestId('flow-view');
    await flow.getByRole('button', { name: `${last}: open in the notebook` }).waitFor();
    const viewport = page.viewportSize()!;
    const flowBox = (await flow.boundingBox())!;
    expect(Number(await flow.getAttribute('data-graph-width'))).toBeGreaterThan(flowBox.width * 2);
    // The view is no wider than the page, and its controls are inside both.
    expect(flowBox.x + flowBox.width).toBeLessThanOrEqual(viewport.width);
    const controls = (await flow.locator('.react-flow__controls').boundingBox())!;
    expect(controls.x).toBeGreaterThanOrEqual(flowBox.x);
    expect(controls.x + controls.width).toBeLessThanOrEqual(flowBox.x + flowBox.width);
    expect(controls.y).toBeGreaterThanOrEqual(flowBox.y);
    // Opened at a legible zoom (75% at least), so the chain does not fit yet.
    expect((await flow.locator('.flow-node-title').first().boundingBox())!.height).toBeGreaterThanOrEqual(10);
    const inside = async (name: string) => {
      const b = await flow.getByRole('button', { name: `${name}: open in the notebook`, exact: true }).boundingBox();
      return !!b && b.x >= flowBox.x && b.x + b.width <= flowBox.x + flowBox.width;
    };
    await page.screenshot({ path: path.join(SCREENSHOTS, 'no-13-flow-wide.png') });
    // It opens from the left (where the pipeline starts), not centred with both ends cut off: the
    // leftmost node starts 16 px + the layout's 16 px margin at 75% in, the first cell is on screen
    // and the last is off to the right.
    const nodesLeft = await flow.locator('.react-flow__node').evaluateAll((els) => Math.min(...els.map((e) => e.getBoundingClientRect().left)));
    // (within 4 px: the node's border and sub-pixel layout; a centred opening is hundreds of px off)
    expect(Math.abs(nodesLeft - (flowBox.x + 16 + 16 * 0.75))).toBeLessThanOrEqual(4);
    expect(await inside('sales_2')).toBe(true);
    expect(await inside(last)).toBe(false);
    await flow.locator('.react-flow__controls-fitview').click();
    await expect.poll(async () => (await inside('sales_2')) && (await inside(last)), { timeout: 10_000 }).toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'no-14-flow-wide-fitted.png') });
    await page.getByRole('button', { name: 'Cells', exact: true }).click();
    expect(errors.a).toEqual([]);
  }, 180_000);
});
