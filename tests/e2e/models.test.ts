/**
 * Models in the browser: train on the credit data from the UI and watch the progress, read the
 * evaluation (ROC, calibration, importance), make a version champion, create an endpoint and try it,
 * then call the same endpoint over REST with an API key. A real server (child process,
 * embedded PostgreSQL); screenshots go to tests/e2e/screenshots/ml-*.png.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { SCREENSHOTS, fullShot, startCreditSession } from './credit-session';
import { type ServerChild, trpcMutation } from './server';
import { attr, ElemType, tensorValue } from '@/server/ml/onnx/proto';
import { classifierOnnx } from '../helpers/onnx-files';

describe('models and endpoints in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;

  const shot = (name: string) => fullShot(page, name);

  beforeAll(async () => {
    ({ server, browser, page, pageErrors, cookie, projectId } = await startCreditSession());
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('trains logistic regression from the UI, shows its progress, then the ROC curve and metrics', async () => {
    await page.goto(`/projects/${projectId}`);
    const section = page.getByRole('region', { name: 'Models' });
    await section.getByText('No models yet.').waitFor();
    await shot('ml-01-project-no-models');
    await section.getByRole('link', { name: 'Train or import' }).click();
    await page.waitForURL(/\/train$/);

    const form = page.getByRole('form', { name: 'Train a model' });
    await expect.poll(() => form.locator('select[name=target]').inputValue()).toBe('status');
    await expect.poll(() => form.locator('input[name=positiveClass]').inputValue()).toBe('bad');
    await form.locator('input[name=modelName]').fill('credit-risk');
    await shot('ml-02-train-form');
    await form.getByRole('button', { name: 'Train' }).click();
    await page.waitForURL(/\/models\/credit-risk\?version=1$/, { timeout: 60_000 });

    const roc = page.getByTestId('roc-chart');
    await roc.locator('.recharts-line-curve').waitFor();
    expect(await roc.locator('.recharts-line-curve').getAttribute('d')).toMatch(/^M/);
    await page.getByTestId('calibration-chart').locator('.recharts-line-curve').waitFor();
    expect(await page.getByTestId('importance-chart').locator('.recharts-bar-rectangle').count()).toBeGreaterThan(5);
    const auc = Number(await page.locator('[data-metric=AUC] .metric-tile-value').textContent());
    expect(auc).toBeGreaterThan(0.8);
    await expect.poll(() => page.locator('[data-metric=AUC] .metric-tile-note').textContent()).toMatch(/95% CI 0\.\d{3}–0\.\d{3}/);
    await page.locator('tr[data-version="1"]').getByText('champion').waitFor();
    await shot('ml-03-model-evaluation');
  }, 120_000);

  it('trains gradient-boosted trees as version 2 and makes it champion', async () => {
    await page.getByRole('link', { name: 'Train a new version' }).click();
    await page.waitForURL(/\/train\?model=credit-risk$/);
    const form = page.getByRole('form', { name: 'Train a model' });
    await expect.poll(() => form.locator('input[name=positiveClass]').inputValue()).toBe('bad');
    await form.getByLabel('Algorithm').selectOption('gradient_boosted_trees');
    await form.locator('input[name=maxIter]').fill('60');
    await form.getByRole('button', { name: 'Train' }).click();
    await page.waitForURL(/\/models\/credit-risk\?version=2$/, { timeout: 90_000 });
    await page.getByTestId('roc-chart').locator('.recharts-line-curve').waitFor();
    const row = page.locator('tr[data-version="2"]');
    await row.getByRole('button', { name: 'Make champion' }).click();
    await row.getByText('champion').waitFor();
    await page.getByText('champion v2').waitFor();
    await shot('ml-04-model-two-versions');
  }, 120_000);

  it('moves the decision threshold: confusion matrix, precision, recall and F1 follow; evaluates both versions on a dataset and compares them', async () => {
    await page.goto(`/projects/${projectId}/models/credit-risk?version=1`);
    const explorer = page.getByTestId('threshold-explorer');
    const slider = explorer.getByRole('slider', { name: 'Decision threshold' });
    await slider.waitFor();
    const cell = async (c: string) => Number((await explorer.locator(`[data-cell=${c}]`).textContent())!.replace(/[^\d]/g, ''));
    const matrix = async () => ({ tp: await cell('tp'), fp: await cell('fp'), fn: await cell('fn'), tn: await cell('tn') });
    const holdoutRows = Number((await page.locator('[data-metric=Holdout] .metric-tile-value').textContent())!.replace(/[^\d]/g, ''));
    // Opens at 0.5, the threshold of the holdout metrics above it.
    const thresholdShown = async () => Number(await explorer.getByTestId('threshold-value').textContent());
    const half = await thresholdShown();
    expect(half).toBeGreaterThanOrEqual(0.5);
    const atHalf = await matrix();
    expect(atHalf.tp + atHalf.fp + atHalf.fn + atHalf.tn).toBe(holdoutRows);
    await slider.focus();
    await page.keyboard.press('Home');
    // The lowest threshold flags every row: recall 100%, no false negatives.
    await expect.poll(() => cell('fn')).toBe(0);
    expect(await explorer.locator('[data-threshold-metric=Recall] .metric-tile-value').textContent()).toBe('100%');
    const low = await matrix();
    expect(low.tp + low.fp).toBeGreaterThan(atHalf.tp + atHalf.fp);
    await page.keyboard.press('End');
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
    await expect.poll(thresholdShown).toBeGreaterThan(half);
    const high = await matrix();
    expect(high.tp + high.fp).toBeLessThan(atHalf.tp + atHalf.fp);
    expect(high.tp + high.fp + high.fn + high.tn).toBe(holdoutRows);
    const precision = (await explorer.locator('[data-threshold-metric=Precision] .metric-tile-value').textContent())!;
    expect(Number(precision.replace('%', ''))).toBeCloseTo((100 * high.tp) / (high.tp + high.fp), 0);
    // The chosen point is drawn on the ROC curve.
    expect(await page.getByTestId('roc-chart').locator('.recharts-reference-dot').count()).toBe(1);
    await explorer.scrollIntoViewIfNeeded();
    await explorer.screenshot({ path: path.join(SCREENSHOTS, 'ml-03b-threshold-slider.png') });

    const evaluate = page.getByRole('form', { name: 'Evaluate on a dataset' });
    for (const version of ['1', '2']) {
      await evaluate.locator('select[name=evaluateVersion]').selectOption(version);
      await evaluate.locator('select[name=evaluateDataset]').selectOption('credit');
      await evaluate.getByRole('button', { name: 'Evaluate' }).click();
      await page.getByRole('table', { name: 'Stored evaluations' }).locator('tbody tr').filter({ hasText: `v${version}` }).waitFor({ timeout: 60_000 });
    }
    const compare = page.getByTestId('evaluations-compare');
    await expect.poll(() => compare.locator('.recharts-line-curve').count()).toBe(2);
    expect(await compare.locator('[data-compare-version]').allTextContents()).toEqual([expect.stringMatching(/^v1: AUC 0\.\d{3} \(/), expect.stringMatching(/^v2: AUC 0\.\d{3} \(/)]);
    await compare.scrollIntoViewIfNeeded();
    await page.getByRole('region', { name: 'Evaluations', exact: true }).screenshot({ path: path.join(SCREENSHOTS, 'ml-03c-evaluations.png') });
  }, 120_000);

  it('shows a long training’s progress (iterations, loss) and cancels it', async () => {
    await page.goto(`/projects/${projectId}/train?model=credit-risk`);
    const form = page.getByRole('form', { name: 'Train a model' });
    await expect.poll(() => form.locator('input[name=positiveClass]').inputValue()).toBe('bad');
    await form.getByLabel('Algorithm').selectOption('gradient_boosted_trees');
    await form.locator('input[name=maxIter]').fill('5000');
    await form.locator('input[name=learningRate]').fill('0.01');
    await form.getByRole('button', { name: 'Train' }).click();
    const progress = page.getByRole('status', { name: 'Training progress' });
    await progress.getByText(/iteration \d+ of at most 5000/).waitFor({ timeout: 20_000 });
    await expect.poll(async () => Number((await progress.getByText(/iteration \d+/).textContent())?.match(/iteration (\d+)/)?.[1])).toBeGreaterThan(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'ml-05-training-progress.png'), fullPage: true });
    await form.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('alert').filter({ hasText: 'Training cancelled.' }).waitFor();
    expect(page.url()).toMatch(/\/train\?model=credit-risk$/);
  }, 60_000);

  it('creates an endpoint and tries it: records in, labels and probabilities out', async () => {
    await page.goto(`/projects/${projectId}/models/credit-risk`);
    await page.getByRole('link', { name: 'Endpoints' }).first().click();
    await page.waitForURL(/\/endpoints$/);
    await page.getByText('No endpoints yet.').waitFor();
    const form = page.getByRole('form', { name: 'Create an endpoint' });
    await form.locator('input[name=endpointName]').fill('credit-risk');
    await shot('ml-06-endpoint-create');
    await form.getByRole('button', { name: 'Create endpoint' }).click();
    await page.waitForURL(/\/endpoints\/credit-risk$/);

    const body = page.getByLabel('Request body (JSON)');
    await expect.poll(() => body.inputValue()).toMatch(/"records"/);
    expect(JSON.parse(await body.inputValue()).records).toHaveLength(2);
    await page.getByRole('button', { name: 'Score' }).click();
    const scores = page.getByRole('table', { name: 'Scores' });
    await scores.waitFor();
    expect(await scores.locator('tbody tr').count()).toBe(2);
    const response = JSON.parse((await page.getByTestId('try-response').textContent())!) as { modelVersion: number; predictions: { probabilities: Record<string, number> }[] };
    expect(response.modelVersion).toBe(2);
    expect(Object.keys(response.predictions[0]!.probabilities).sort()).toEqual(['bad', 'good']);
    expect(await page.getByTestId('curl-example').textContent()).toContain(`${server.baseUrl}/api/v1/endpoints/credit-risk/predict`);
    await shot('ml-07-endpoint-try-it');
    // This endpoint's OpenAPI, typed by the served version's features.
    await page.getByRole('button', { name: 'Show the OpenAPI of this endpoint' }).click();
    const openapi = (await page.getByTestId('openapi-snippet').textContent())!;
    expect(openapi).toContain('/api/v1/endpoints/credit-risk/predict:');
    expect(openapi).toMatch(/seniority:\n\s+type:/);
    expect(openapi).toContain('x-scope: score:credit-risk');

    // A bad record: the console shows the server's 400, naming the record and the field.
    await body.fill(JSON.stringify({ records: [{ ...JSON.parse(await body.inputValue()).records[0], income: 'lots' }] }));
    await page.getByRole('button', { name: 'Score' }).click();
    await page.getByRole('alert').filter({ hasText: 'records[0].income: expected a number or null' }).waitFor();
    await shot('ml-08-endpoint-bad-record');

    // The same endpoint over REST with a key scoped to it.
    const key = (await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'scorer', scopes: ['score:credit-risk'] }, cookie)) as { secret: string };
    const callEndpoint = async () => {
      const res = await fetch(`${server.baseUrl}/api/v1/endpoints/credit-risk/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records: [{ ...JSON.parse(await body.inputValue()).records[0], income: 120 }] }),
      });
      return ((await res.json()) as { predictions: { label: string; probabilities: Record<string, number> }[] }).predictions[0]!;
    };
    const rest = await fetch(`${server.baseUrl}/api/v1/endpoints/credit-risk/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ ...JSON.parse(await body.inputValue()).records[0], income: 120 }] }),
    });
    expect(rest.status).toBe(200);
    expect(((await rest.json()) as { modelVersion: number }).modelVersion).toBe(2);

    // A decision threshold set on the endpoint page decides the label REST returns.
    await body.fill(JSON.stringify({ records: [{ ...JSON.parse(await body.inputValue()).records[0], income: 120 }] }));
    await page.getByLabel('Decision threshold', { exact: true }).fill('0.02');
    await page.getByRole('button', { name: 'Save threshold' }).click();
    await expect.poll(async () => (await callEndpoint()).label).toBe('bad');
    const scored = await callEndpoint();
    expect(scored.probabilities.bad).toBeGreaterThanOrEqual(0.02);
    await page.getByLabel('Decision threshold', { exact: true }).fill(String(Math.min(1, scored.probabilities.bad! + 1e-9)));
    await page.getByRole('button', { name: 'Save threshold' }).click();
    await expect.poll(async () => (await callEndpoint()).label).toBe('good');
    await shot('ml-08b-endpoint-threshold');
  }, 60_000);

  it('lists the model with its champion and endpoint on the project page, without client errors', async () => {
    await page.goto(`/projects/${projectId}`);
    const section = page.getByRole('region', { name: 'Models' });
    const row = section.locator('tbody tr').filter({ hasText: 'credit-risk' });
    await row.getByRole('link', { name: 'credit-risk' }).first().waitFor();
    expect(await row.textContent()).toMatch(/v2/);
    await shot('ml-09-project-models');
    await section.getByRole('link', { name: /Endpoints/ }).click();
    await page.getByRole('table').getByRole('link', { name: 'credit-risk' }).first().waitFor();
    await shot('ml-10-endpoints');
    // Browsers ask for /favicon.ico on their own: it leads to the app's icon, not a 404.
    const icon = await fetch(`${server.baseUrl}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toContain('image/svg');
    // The one failed request is the bad record we sent on purpose; Chromium logs every 4xx.
    expect(pageErrors.filter((e) => !/status of 400 .*scoring\.predict/.test(e))).toEqual([]);
  });
  it('imports an ONNX file with one packed [N, k] input, naming its columns in the form', async () => {
    // A hand-built LinearClassifier over one [N, 2] input (no names in the file).
    const packed = classifierOnnx({
      graphPatch: (g) => {
        g.input = [tensorValue('x', ElemType.FLOAT, ['N', 2])];
        g.node![0]!.attribute![0] = attr.floats('coefficients', [-1, -1, 1, 1]);
      },
    });
    await page.goto(`/projects/${projectId}/train`);
    const form = page.getByRole('form', { name: 'Import an ONNX model' });
    await form.locator('input[name=onnxFile]').setInputFiles({ name: 'packed.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(packed) });
    await form.locator('input[name=importModelName]').fill('packed');
    await form.getByLabel(/Feature names/).fill('income');
    await form.getByRole('button', { name: 'Import' }).click();
    await expect.poll(() => form.getByRole('alert').textContent()).toBe('this ONNX file cannot be served: input "x" takes 2 columns but the features given at import name 1 feature');
    await shot('ml-11-import-packed-refused');
    await form.getByLabel(/Feature names/).fill('income, debt');
    await form.getByRole('button', { name: 'Import' }).click();
    await page.waitForURL(/\/models\/packed\?version=1$/, { timeout: 30_000 });
    const features = page.locator('code').filter({ hasText: /^(income|debt)$/ });
    await expect.poll(() => features.allTextContents()).toEqual(['income', 'debt']);
    await shot('ml-12-import-packed');
  }, 60_000);
});
