/**
 * Promote to production in the browser: a notebook declaring an endpoint is promoted (the dialog
 * shows what changed), the bundle deployed, production scored over REST; a better model is
 * promoted and deployed (the dialog shows both models' metrics side by side), then rolled back and
 * the older model answers again. A real server (child process, embedded PostgreSQL, its own Temporal);
 * screenshots go to tests/e2e/screenshots/prod-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery as trpcQueryAs, type ServerChild } from './server';
import { accountWithProject, paste, screenshotOnFailure, signedInBrowser, uploadCsv, fullPageShot, SCREENSHOTS } from './setup';

const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };
const record = { seniority: 9, home: 'rent', time: 60, age: 30, marital: 'married', records: false, job: 'fixed', expenses: 73, income: 129, assets: 0, debt: 0, amount: 800, price: 846 };

type Prediction = { modelVersion: number; bundle?: string | null; predictions: { label: string; probabilities: Record<string, number> }[] };

describe('promote, deploy, score production and roll back in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;
  let notebookUrl: string;
  let scorerKey: string;
  const hashes: string[] = [];

  const shot = (name: string) => fullPageShot(page, name);
  const trpcQuery = (proc: string, input: unknown) => trpcQueryAs(server.baseUrl, proc, input, cookie);
  /** Trains a version of credit-risk through the same API the train page uses, and waits for it. */
  const train = async (spec: Record<string, unknown>) => {
    const started = (await trpcMutation(server.baseUrl, 'models.train', { projectId, modelName: 'credit-risk', dataset: 'credit', spec }, cookie)) as { id: string };
    for (;;) {
      const t = (await trpcQuery('models.training', { projectId, trainingId: started.id })) as { state: string; result: { version: { version: number } } | null; error: unknown };
      if (t.state === 'succeeded') return t.result!.version.version;
      if (t.state !== 'running') throw new Error(`training ended ${t.state}: ${JSON.stringify(t.error)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const score = async (): Promise<Prediction> => {
    const res = await fetch(`${server.baseUrl}/api/v1/endpoints/credit-prod/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${scorerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [record] }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Prediction;
  };
  const openPromote = async () => {
    await page.goto(notebookUrl);
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.getByRole('button', { name: 'Promote', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Promote to a bundle' });
    await dialog.getByLabel('Release notes').waitFor({ timeout: 30_000 });
    return dialog;
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, ada, { team: 'Risk Analytics', project: 'Credit scoring' }));
    await uploadCsv(server.baseUrl, cookie, projectId, 'credit', creditDataCsv);
    scorerKey = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'scorer', scopes: ['score:credit-prod'] }, cookie)) as { secret: string }).secret;
    expect(await train({ algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' })).toBe(1);
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie, { timeout: 15_000 }));
  }, 300_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'production', task));

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('shows an empty production page, then promotes a notebook that declares an endpoint', async () => {
    await page.goto(`/projects/${projectId}/production`);
    await page.getByText('Nothing is deployed yet.').waitFor();
    await page.getByText('No bundles yet.').waitFor();
    await shot('prod-01-empty');

    await page.goto(`/projects/${projectId}`);
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Credit service');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(/\/notebooks\/[0-9a-f-]{36}$/);
    notebookUrl = page.url();
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.getByRole('button', { name: 'Add Endpoint cell' }).click();
    await page.locator('section.cell .monaco-editor').first().click();
    await page.keyboard.press('Control+A'); // the new cell's template
    await paste(page, 'name: credit-prod\nmodel: credit-risk\ndescription: Scores credit applications\n');

    const dialog = await openPromote();
    // The first bundle: everything is added; the model and its metrics are listed.
    await dialog.locator('tr[data-model=credit-risk]').getByText('added').waitFor();
    await dialog.getByText('Nothing in this notebook is built').waitFor();
    await dialog.getByLabel('Release notes').fill('First release: logistic regression behind credit-prod.');
    await dialog.screenshot({ path: path.join(SCREENSHOTS, 'prod-02-promote-first.png') });
    // Nothing in this notebook is built (it only declares an endpoint): no build to confirm.
    expect(await dialog.getByLabel(/Promote anyway/).count()).toBe(0);
    await dialog.getByRole('button', { name: /^Promote/ }).click();
    await dialog.getByText(/Sealed bundle/).waitFor({ timeout: 30_000 });
    hashes.push((await dialog.getByRole('status').locator('a.mono').getAttribute('href'))!.split('/').pop()!);
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
    await dialog.getByRole('link', { name: 'Go to Production' }).click();
    await page.waitForURL(/\/production$/);
    await page.locator(`tr[data-hash="${hashes[0]}"]`).getByText('First release: logistic regression behind credit-prod.').waitFor();
  }, 120_000);

  it('deploys the bundle and production scores with its model', async () => {
    const row = page.locator(`tr[data-hash="${hashes[0]}"]`);
    await row.getByRole('button', { name: 'Deploy' }).click();
    await page.getByLabel('Reason for the deployment').fill('Go live');
    await page.getByRole('button', { name: 'Deploy now' }).click();
    await page.locator(`.active-bundle[data-hash="${hashes[0]}"]`).waitFor();
    await page.locator('.active-bundle .badge-ok', { hasText: 'serving' }).waitFor();
    await shot('prod-03-deployed');
    const answer = await score();
    expect(answer.modelVersion).toBe(1);
    expect(answer.bundle).toBe(hashes[0]);
  }, 60_000);

  it('promotes a better model: the dialog shows both versions’ metrics side by side', async () => {
    expect(await train({ algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 60 } })).toBe(2);
    await trpcMutation(server.baseUrl, 'models.setChampion', { projectId, name: 'credit-risk', version: 2 }, cookie);
    const dialog = await openPromote();
    const model = dialog.locator('tr[data-model=credit-risk]');
    await model.getByText('changed').waitFor();
    expect(await model.textContent()).toContain('v1 → v2');
    expect(await model.locator('td').nth(3).textContent()).toMatch(/^0\.\d{3} → 0\.\d{3}$/);
    await dialog.getByLabel('Release notes').fill('Gradient-boosted trees: better AUC on the holdout.');
    await dialog.screenshot({ path: path.join(SCREENSHOTS, 'prod-04-promote-diff.png') });
    await dialog.getByRole('button', { name: /^Promote/ }).click();
    await dialog.getByText(/Sealed bundle/).waitFor({ timeout: 30_000 });
    hashes.push((await dialog.getByRole('status').locator('a.mono').getAttribute('href'))!.split('/').pop()!);
    expect(hashes[1]).not.toBe(hashes[0]);

    await page.goto(`/projects/${projectId}/production`);
    await page.locator(`tr[data-hash="${hashes[1]}"]`).getByRole('button', { name: 'Deploy' }).click();
    await page.getByLabel('Reason for the deployment').fill('Better model');
    await page.getByRole('button', { name: 'Deploy now' }).click();
    await page.locator(`.active-bundle[data-hash="${hashes[1]}"]`).waitFor();
    const answer = await score();
    expect(answer.modelVersion).toBe(2);
    expect(answer.bundle).toBe(hashes[1]);
    await shot('prod-05-second-deployed');
  }, 120_000);

  it('rolls back with one action and the older model answers again', async () => {
    const before = (await score()).predictions[0]!.probabilities;
    await page.getByRole('button', { name: `Roll back to ${hashes[0]!.slice(0, 12)}` }).first().click();
    await page.getByLabel('Reason for the rollback').fill('Complaints about v2');
    await page.getByRole('button', { name: 'Roll back now' }).click();
    await page.locator(`.active-bundle[data-hash="${hashes[0]}"]`).waitFor();
    const answer = await score();
    expect(answer.modelVersion).toBe(1);
    expect(answer.bundle).toBe(hashes[0]);
    expect(answer.predictions[0]!.probabilities).not.toEqual(before);
    const history = page.locator('.deploy-timeline li');
    expect(await history.count()).toBe(3);
    expect(await history.first().textContent()).toContain('rollback');
    await shot('prod-06-rolled-back');
  }, 60_000);

  it('shows a bundle with its models, endpoints and cells, without client errors', async () => {
    await page.goto(`/projects/${projectId}/bundles/${hashes[1]}`);
    await page.getByText('Gradient-boosted trees: better AUC on the holdout.').waitFor();
    await page.locator('.manifest-cell pre', { hasText: 'name: credit-prod' }).waitFor();
    await shot('prod-07-bundle');
    expect(pageErrors).toEqual([]);
  });
});
