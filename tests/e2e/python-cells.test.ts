/**
 * A Python cell in the browser: added from the cell bar, written in Monaco's python mode, previewed
 * with Ctrl+Enter (pandas in bubblewrap on the server), its grid under the cell; an error shows the
 * Python message with the cell's line. Screenshots: /tmp/shots/python/python-*.png.
 */
import { mkdirSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { pythonCellVenv } from '../helpers/python';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { signUp, uploadCsv } from './setup';
import { creditDataCsv } from '../helpers/datasets';

const SHOTS = '/tmp/shots/python';
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };

/** Pastes into the focused editor (typing would go through Monaco's auto-indent). */
async function paste(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    document.activeElement?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (cell: Locator) => cell.locator('.monaco-editor').first();

describe('Python cells in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    pythonCellVenv();
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 30_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  /** A new notebook of the project with one Python cell, its editor focused and its text selected. */
  async function pythonCellInNewNotebook(name: string): Promise<Locator> {
    await page.goto(`/projects/${projectId}`);
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/notebooks/${UUID}$`));
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.getByRole('button', { name: 'Add Python cell' }).click();
    const cell = cellAt(page, 1);
    await editorOf(cell).waitFor();
    await editorOf(cell).locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    return cell;
  }

  it('writes a pandas cell, previews it and sees its rows under the cell; an error names the line', async () => {
    cookie = await signUp(server.baseUrl, ada);
    const [name, value] = [cookie.slice(0, cookie.indexOf('=')), cookie.slice(cookie.indexOf('=') + 1)];
    await browser.context.addCookies([{ name, value, url: server.baseUrl }]);
    const team = (await trpcMutation(server.baseUrl, 'teams.create', { name: 'Risk Analytics' }, cookie)) as { id: string };
    const project = (await trpcMutation(server.baseUrl, 'projects.create', { teamId: team.id, name: 'Loans' }, cookie)) as { id: string };
    projectId = project.id;

    const cell = await pythonCellInNewNotebook('Pandas');
    await paste(page, '# inputs:\n# output: squares\nsquares = pd.DataFrame({"n": range(1, 6)})\nsquares["square"] = squares["n"] ** 2\nsquares');
    // Monaco's python mode colours the comment header and the keywords.
    await editorOf(cell).locator('.mtk1, .mtk7, .mtk8').first().waitFor();
    await page.locator('.build-bar .compile-state-ok').waitFor({ timeout: 30_000 });

    await page.keyboard.press('Control+Enter');
    const out = cell.getByTestId('cell-output');
    const rows = out.locator('.result-grid-row');
    await rows.first().waitFor({ timeout: 90_000 });
    expect(await rows.count()).toBe(5);
    const last = (await rows.nth(4).innerText()).replace(/\s+/g, ' ');
    expect(last).toContain('5');
    expect(last).toContain('25');
    await page.screenshot({ path: `${SHOTS}/python-01-preview.png` });

    await editorOf(cell).locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await paste(page, '# inputs:\n# output: squares\nsquares = pd.DataFrame({"n": range(1, 6)})\nsquares["cube"] = squares["m"] ** 3\nsquares');
    await page.keyboard.press('Control+Enter');
    await out.getByText("KeyError: 'm'").first().waitFor({ timeout: 90_000 });
    await out.getByText(/line 4/).first().waitFor();
    await page.screenshot({ path: `${SHOTS}/python-02-error.png` });

    expect(pageErrors).toEqual([]);
  }, 300_000);

  it('registers a scikit-learn model from a cell with Run all; its page charts permutation importance computed by the server', async () => {
    await uploadCsv(server.baseUrl, cookie, projectId, 'credit', creditDataCsv);
    const cell = await pythonCellInNewNotebook('Models');
    // Reads only income and amount: shuffling any other column cannot move a score.
    await paste(
      page,
      [
        '# inputs: credit',
        '# output: registered',
        'from sklearn.compose import ColumnTransformer',
        'from sklearn.impute import SimpleImputer',
        'from sklearn.linear_model import LogisticRegression',
        'from sklearn.pipeline import Pipeline',
        'from sklearn.preprocessing import StandardScaler',
        'num = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])',
        'pipe = Pipeline([("pre", ColumnTransformer([("num", num, ["income", "amount"])])), ("model", LogisticRegression())])',
        'registered = stagebook.register_model("credit-py", pipe, train=credit[["income", "amount", "job", "status"]], target="status", positive_class="bad")',
      ].join('\n'),
    );
    await page.locator('.build-bar .compile-state-ok').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Run all' }).click();
    const done = cell.locator('.cell-build[data-status=succeeded]');
    await done.waitFor({ timeout: 180_000 });
    const link = done.getByTestId('step-result');
    expect(await link.textContent()).toMatch(/^credit-py version 1, AUC 0\.\d+$/);
    await link.click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/models/credit-py\\?version=1$`));
    const chart = page.getByTestId('importance-chart');
    await chart.getByText(/Permutation importance: how much the holdout AUC \(0\.\d{3}\) drops/).waitFor({ timeout: 30_000 });
    // Two bars of the three features (job's share is 0): income and amount carry all of it.
    await chart.locator('.recharts-bar-rectangle').first().waitFor();
    const labels = (await chart.locator('.recharts-yAxis-tick-labels text').allTextContents()).map((t) => t.trim()).filter(Boolean);
    expect(labels.slice(0, 2).sort()).toEqual(['amount', 'income']);
    expect(labels).toContain('job');
    await chart.scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}/python-03-model-importance.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 400_000);
});
