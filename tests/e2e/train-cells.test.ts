/**
 * Train and score cells in the browser, as steps of the notebook's build: write a train cell, run it,
 * watch its stage and progress bar in the cell, follow the link to the version it registered; add a
 * score cell and run that cell alone; see the model in the Flow view and both steps on the run page.
 * A real server (child process, embedded PostgreSQL, its own Temporal dev server); screenshots go to
 * tests/e2e/screenshots/tc-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { accountWithProject, paste, screenshotOnFailure, signedInBrowser, uploadCsv } from './setup';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };
/** credit_data.csv has 4,454 rows, 381 of them without income. */
const CLEAN_ROWS = '4,073';

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (cell: Locator) => cell.locator('.monaco-editor').first();

describe('train and score cells in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let projectId: string;
  let notebookUrl: string;

  const shot = async (name: string, opts: { fullPage?: boolean } = {}) => {
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 15_000 });
    if (opts.fullPage ?? true) await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: opts.fullPage ?? true });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    const account = await accountWithProject(server.baseUrl, ada, { team: 'Risk Analytics', project: 'Credit scoring' });
    const cookie = account.cookie;
    projectId = account.projectId;
    await uploadCsv(server.baseUrl, cookie, projectId, 'credit', creditDataCsv);
    const notebook = (await trpcMutation(server.baseUrl, 'notebooks.create', { projectId, name: 'Credit model' }, cookie)) as { id: string };
    notebookUrl = `/projects/${projectId}/notebooks/${notebook.id}`;
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie, { timeout: 15_000 }));
  }, 300_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'train-cells', task));

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('points at a misspelt target column in a train cell, then builds it with a progress bar and links the new version', async () => {
    await page.goto(notebookUrl);
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    await editorOf(cellAt(page, 1)).waitFor();
    await paste(page, '-- writes: clean\nselect * from credit where income is not null');

    await page.getByRole('button', { name: 'Add Train cell' }).click();
    const train = cellAt(page, 2);
    await editorOf(train).waitFor();
    // Columns are checked at compile time when the dataset is a source ("clean" gets its columns when
    // it is built): first on "credit", with a typo. Enough iterations (no early stopping) that the
    // running stage is there to be seen.
    await paste(page, 'model: credit-risk\ndataset: credit\ntarget: statuss\npositiveClass: bad\nalgorithm: gradient_boosted_trees\nparams:\n  maxIter: 400\n  earlyStopping: false');
    const problem = train.locator('.cell-diagnostics .diagnostic', { hasText: 'statuss' });
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/Line 3.*"credit" has no column "statuss": did you mean "status"\?/);
    await page.locator('.build-bar .compile-state-error').waitFor();
    await train.locator('.squiggly-error').first().waitFor();
    await shot('tc-01-train-diagnostic');
    const replaceLine = async (line: number, text: string) => {
      await editorOf(train).locator('.view-line').nth(line - 1).click();
      await page.keyboard.press('End');
      await page.keyboard.press('Shift+Home');
      await page.keyboard.insertText(text);
    };
    await replaceLine(3, 'target: status');
    await replaceLine(2, 'dataset: clean');
    await train.locator('.cell-diagnostics').waitFor({ state: 'detached' });
    await page.locator('.build-bar .compile-state-ok', { hasText: '1 dataset to build, 1 model to train' }).waitFor();

    await page.getByRole('button', { name: 'Run all' }).click();
    const running = train.locator('.cell-build[data-status=running]');
    const bar = running.getByRole('progressbar');
    await running.locator('.step-progress[data-stage=training]').waitFor({ timeout: 60_000 });
    const done = train.locator('.cell-build[data-status=succeeded]');
    // The bar moves while the step runs (on a loaded machine the step may finish between two looks).
    await expect
      .poll(async () => ((await done.count()) ? 1 : Number(await bar.getAttribute('aria-valuenow', { timeout: 1_000 }).catch(() => 0))), { timeout: 60_000 })
      .toBeGreaterThan(0);
    await train.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'tc-02-training-progress.png') });

    await done.waitFor({ timeout: 120_000 });
    const link = done.getByTestId('step-result');
    expect(await link.textContent()).toMatch(/^credit-risk version 1, AUC 0\.(7[5-9]|8\d|9\d)$/);
    expect(await link.getAttribute('href')).toBe(`/projects/${projectId}/models/credit-risk?version=1`);
    expect(await cellAt(page, 1).locator('.cell-build').getAttribute('data-status')).toBe('succeeded');
    await shot('tc-03-trained');
  }, 240_000);

  it('adds a score cell and runs that cell alone: it scores with the champion and links the rows written', async () => {
    await page.getByRole('button', { name: 'Add Score cell' }).click();
    const score = cellAt(page, 3);
    await editorOf(score).waitFor();
    await paste(page, 'model: credit-risk\ndataset: clean\noutput: scored');
    await page.locator('.build-bar .compile-state-ok', { hasText: '2 datasets to build, 1 model to train' }).waitFor();
    await page.getByRole('button', { name: 'Run cell 3', exact: true }).click();
    const done = score.locator('.cell-build[data-status=succeeded]');
    await done.waitFor({ timeout: 60_000 });
    const link = done.getByTestId('step-result');
    expect(await link.textContent()).toBe(`${CLEAN_ROWS} rows → scored (credit-risk version 1)`);
    expect(await link.getAttribute('href')).toBe(`/projects/${projectId}/datasets/scored`);
    // The train cell was not in that build: it keeps its result, marked as from an earlier build.
    await cellAt(page, 2).locator('.cell-build-older[data-status=succeeded]').waitFor();
    await shot('tc-04-scored');
  }, 120_000);

  it('draws the model between its train and score cells in the Flow view', async () => {
    await page.locator('.build-bar .build-status-succeeded').waitFor();
    await page.getByRole('button', { name: 'Flow', exact: true }).click();
    const flow = page.getByTestId('flow-view');
    await flow.locator('.react-flow__node-model').waitFor();
    expect(await flow.locator('.react-flow__node-model').count()).toBe(1);
    // credit, clean, scored; sql, train, score; the model.
    expect(await flow.locator('.react-flow__node-dataset').count()).toBe(3);
    expect(await flow.locator('.react-flow__node-cell').count()).toBe(3);
    // credit->sql->clean, clean->train->model, model->score, clean->score->scored.
    expect(await flow.locator('.react-flow__edge').count()).toBe(7);
    const model = flow.getByRole('button', { name: 'Model credit-risk: open' });
    expect(await model.textContent()).toMatch(/version 1 · AUC 0\.\d\d/);
    await shot('tc-05-flow');
    // Click the node where it stays: under load CI once clicked it while the view was still placing it
    // (the opening viewport is measured before the first paint, but the layout can still settle after).
    let last = '';
    const settled = async () => {
      const box = JSON.stringify(await model.boundingBox());
      const still = box === last;
      last = box;
      return still;
    };
    await expect.poll(settled, { timeout: 10_000, interval: 100 }).toBe(true);
    await model.click();
    // Under CI load one click on a settled node once did not navigate within 15 s: a user clicks again,
    // so does the test (once, only while the page has not left the notebook).
    const modelPage = new RegExp(`/projects/${projectId}/models/credit-risk$`);
    const navigated = await page.waitForURL(modelPage, { timeout: 10_000 }).then(() => true, () => false);
    if (!navigated && !modelPage.test(page.url())) await model.click({ timeout: 5_000 }).catch(() => undefined);
    await page.waitForURL(modelPage, { timeout: 30_000 });
    await page.locator('tr[data-version="1"]').getByText('champion').waitFor();
  });

  it('shows the train step with its model and result on the run page', async () => {
    await page.goto(`/projects/${projectId}`);
    const builds = page.getByRole('region', { name: 'Builds' });
    await builds.locator('tbody tr').nth(1).waitFor();
    // The first build: sql and train.
    await builds.locator('tbody tr').nth(1).getByRole('link').first().click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/builds/${UUID}$`));
    const steps = page.getByRole('region', { name: 'Steps' });
    const trainRow = steps.locator('tr[data-step]').filter({ hasText: 'credit-risk' }).first();
    await trainRow.waitFor();
    expect(await trainRow.getAttribute('data-status')).toBe('succeeded');
    await steps.locator('.step-model-row').getByTestId('step-result').filter({ hasText: 'credit-risk version 1' }).waitFor();
    await page.getByRole('figure', { name: 'Run timeline' }).getByText('train credit-risk').waitFor();
    await trainRow.getByRole('button', { name: /^Log/ }).click();
    await page.getByLabel('Log of train credit-risk').filter({ hasText: /registered "credit-risk" version 1 \(holdout AUC 0\.\d+\)/ }).waitFor();
    await shot('tc-06-run-page');
  });

  it('ran without client-side errors', () => {
    expect(pageErrors, pageErrors.length ? server.logTail() : undefined).toEqual([]);
  });
});
