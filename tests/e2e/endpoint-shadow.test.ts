/**
 * An endpoint's shadow version judged on labels in the browser: two versions of a credit model
 * (logistic regression served, gradient-boosted trees shadowing), 60 records scored over REST with
 * their `id`, the true outcomes of 50 of them uploaded as a dataset. The Serving card's "Judge on
 * labels" form then shows both versions' AUC on those 50; a label column that is not the classes,
 * and a labels dataset that changed under the page, give a clear message rather than a crash. A real
 * server (child process, embedded PostgreSQL); the screenshot goes to tests/e2e/screenshots/endpoint-shadow-labels.png.
 */
import { parse } from 'csv-parse/sync';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { accountWithProject, screenshotOnFailure, signedInBrowser, uploadCsv, fullPageShot, SCREENSHOTS } from './setup';

const joan = { email: 'joan@example.com', name: 'Joan Clarke', password: 'banburismus-1941' };
const FEATURES = ['seniority', 'home', 'time', 'age', 'marital', 'records', 'job', 'expenses', 'income', 'assets', 'debt', 'amount', 'price'];
const ROWS = 600;
const SCORED = 60;
const LABELLED = 50;

/** The first rows of the credit data (columns lower-cased, as the upload does), with an `id` 1, 2, ... */
const creditLines = readFileSync(creditDataCsv, 'utf8').trim().split('\n').slice(0, ROWS + 1);
const creditRows = (parse(creditLines.join('\n'), { columns: (h: string[]) => h.map((c) => c.toLowerCase()) }) as Record<string, string>[]).map((r, i): Record<string, string> => ({ ...r, id: String(i + 1) }));

/** A row as a scoring record: its id and features, typed as the upload types them (NA is missing, records yes/no a boolean). */
const recordOf = (r: (typeof creditRows)[number]): Record<string, unknown> =>
  Object.fromEntries([
    ['id', Number(r.id)],
    ...FEATURES.map((k) => {
      const v = r[k]!;
      if (v === 'NA' || v === '') return [k, null];
      if (k === 'records') return [k, v === 'yes'];
      return [k, Number.isNaN(Number(v)) ? v : Number(v)];
    }),
  ]);

describe('judging an endpoint shadow version on labels in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;
  let dir: string;

  const shot = (name: string) => fullPageShot(page, name, 10_000);
  const upload = (name: string, csv: string) => {
    const file = path.join(dir, `${name}.csv`);
    writeFileSync(file, csv);
    return uploadCsv(server.baseUrl, cookie, projectId, name, file);
  };
  const trpcQuery = async (proc: string, input: unknown): Promise<{ status: number; body: { result?: { data: { json: unknown } }; error?: { json: { message: string } } } }> => {
    const res = await fetch(`${server.baseUrl}/trpc/${proc}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`, { headers: { cookie } });
    return { status: res.status, body: (await res.json()) as never };
  };
  const train = async (spec: Record<string, unknown>) => {
    const training = (await trpcMutation(server.baseUrl, 'models.train', { projectId, modelName: 'credit-risk', dataset: 'credit', spec: { target: 'status', positiveClass: 'bad', features: FEATURES, ...spec } }, cookie)) as { id: string };
    // Setup, not the test: polled by hand (expect.poll is for tests only).
    for (const deadline = Date.now() + 120_000; ; ) {
      const state = ((await trpcQuery('models.training', { projectId, trainingId: training.id })).body.result?.data.json as { state: string }).state;
      if (state === 'succeeded') return;
      if (state !== 'running' || Date.now() > deadline) throw new Error(`training ${training.id}: ${state}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    dir = mkdtempSync(path.join(tmpdir(), 'sb-shadow-'));
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, joan, { team: 'Hut 8', project: 'Credit' }));
    await upload('credit', [`id,${creditLines[0]}`, ...creditLines.slice(1).map((line, i) => `${i + 1},${line}`)].join('\n') + '\n');
    const credit = (await trpcQuery('datasets.get', { projectId, name: 'credit' })).body.result?.data.json as { columns: { name: string }[] };
    expect(credit.columns.map((c) => c.name)).toEqual(['id', 'status', ...FEATURES]);

    await train({ algorithm: 'logistic_regression' });
    await train({ algorithm: 'gradient_boosted_trees', params: { maxIter: 20 } });
    const endpoint = (await trpcMutation(server.baseUrl, 'endpoints.create', { projectId, name: 'credit-risk', model: 'credit-risk' }, cookie)) as { servingVersion: number };
    expect(endpoint.servingVersion).toBe(1);
    await trpcMutation(server.baseUrl, 'endpoints.update', { projectId, name: 'credit-risk', shadowVersion: 2 }, cookie);
    const key = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'scorer', scopes: ['score:credit-risk'] }, cookie)) as { secret: string }).secret;
    for (let i = 0; i < SCORED; i += 20) {
      const res = await fetch(`${server.baseUrl}/api/v1/endpoints/credit-risk/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records: creditRows.slice(i, i + 20).map(recordOf) }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    // The outcomes of the first 50 scored applications have arrived; the last 10 have not.
    await upload('outcomes', ['id,status', ...creditRows.slice(0, LABELLED).map((r) => `${r.id},${r.status}`)].join('\n') + '\n');
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie));
  }, 400_000);

  afterEach(async (ctx) => screenshotOnFailure(page, 'endpoint-shadow', ctx.task));
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('shows the AUC of the served and of the shadow version on the labelled records, then clear messages for wrong picks', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`/projects/${projectId}/endpoints/credit-risk`);
    const summary = page.getByTestId('shadow-summary');
    await expect.poll(() => summary.textContent(), { timeout: 20_000 }).toMatch(/v2: 60 rows in 24 h, [\d.]+% agreement/);

    const form = page.getByTestId('shadow-labels-form');
    await form.getByText('Judge on labels').click();
    // Production is the default environment, where this project has no datasets.
    expect(await form.getByLabel('Environment').inputValue()).toBe('production');
    await form.getByLabel('Dataset').getByRole('option', { name: 'No datasets' }).waitFor({ state: 'attached' });
    expect(await form.getByRole('button', { name: 'Apply' }).isDisabled()).toBe(true);

    await form.getByLabel('Environment').selectOption('design');
    await form.getByLabel('Dataset').selectOption('outcomes');
    expect(await form.getByLabel('Key column').inputValue()).toBe('id');
    expect(await form.getByLabel('Label column').locator('option').allTextContents()).toEqual(['id', 'status']);
    await form.getByLabel('Label column').selectOption('status');
    await form.getByRole('button', { name: 'Apply' }).click();

    const result = page.getByTestId('shadow-labels-result');
    await expect.poll(() => result.textContent(), { timeout: 20_000 }).toMatch(/on 50 labelled records/);
    const text = (await result.textContent())!;
    const [, shadowAuc, servedAuc] = /shadow (\d\.\d{3}) vs served (\d\.\d{3}) on 50 labelled records/.exec(text) ?? [];
    // The same numbers as the API gives.
    const api = (await trpcQuery('endpoints.shadowComparison', { projectId, name: 'credit-risk', labels: { dataset: 'outcomes', label: 'status', environment: 'design' } })).body.result?.data.json as {
      labelled: { rows: number; servedAuc: number; shadowAuc: number };
    };
    expect(api.labelled.rows).toBe(LABELLED);
    expect(shadowAuc).toBe(api.labelled.shadowAuc.toFixed(3));
    expect(servedAuc).toBe(api.labelled.servedAuc.toFixed(3));
    expect(api.labelled.servedAuc).toBeGreaterThan(0.5);
    await shot('endpoint-shadow-labels');

    // The labels dataset changes under the open page (its column renamed): Apply again asks the
    // server, which names the missing column, and the form stays usable.
    await upload('outcomes', ['id,outcome', ...creditRows.slice(0, LABELLED).map((r) => `${r.id},${r.status}`)].join('\n') + '\n');
    await form.getByRole('button', { name: 'Apply' }).click();
    await result.getByRole('alert').filter({ hasText: 'labels dataset "outcomes" has no column "status" (columns: id, outcome)' }).waitFor({ timeout: 20_000 });
    await shot('endpoint-shadow-labels-error');

    // A label column that is not the classes (the id itself): every record is labelled, none with
    // the positive class, so there is no AUC to give.
    await form.getByLabel('Label column').selectOption('id');
    await form.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => result.textContent(), { timeout: 20_000 }).toMatch(/^50 labelled records: too few \(or one class\) for an AUC/);
    expect(await summary.textContent()).toMatch(/v2: 60 rows in 24 h/);

    // Chromium logs the refused request (400) as a console error; nothing else went wrong.
    expect(pageErrors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  }, 120_000);
});
