/**
 * Production scenarios in the browser: a notebook with a SQL cell, a check cell, an endpoint cell and
 * two scenario cells is promoted and deployed; on the Production tab "Run now" starts the retraining
 * scenario (build -> checks -> gated retrain), its run page follows it live to the end with the
 * steps' durations and the gate's decision; the model page draws the decisions; a re-run opens the
 * new run; a slow scenario is cancelled while its build runs. A real server (child process,
 * embedded PostgreSQL, its own Temporal); screenshots go to tests/e2e/screenshots/sc-*.png.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery as trpcQueryAs, type ServerChild } from './server';
import { accountWithProject, paste, screenshotOnFailure, signedInBrowser, fullPageShot, SCREENSHOTS } from './setup';

const TMP = path.join(import.meta.dirname, '../.tmp');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };

const retrainScenario = `name: nightly-retrain
description: Rebuild the clean credit rows, check them, retrain the risk model on production data
triggers:
  - type: manual
  - type: schedule
    cron: "0 6 * * *"
    timezone: Europe/Paris
overlap: skip
steps:
  - type: build
    datasets: [credit_clean]
  - type: checks
    dataset: credit_clean
  - type: retrain
    model: credit-risk
    gate:
      metric: auc
      minImprovement: 0
`;
const slowScenario = `name: backfill
description: Retrains the slow model, then counts the clean rows
triggers:
  - type: manual
overlap: skip
steps:
  - type: retrain
    model: credit-slow
  - type: sql
    sql: select count(*) as n from credit_clean
`;

const RISK_SPEC = { algorithm: 'logistic_regression', target: 'status', positiveClass: 'bad' };
/** Gradient-boosted trees without early stopping: retraining it on production takes long enough to cancel. */
const SLOW_SPEC = { algorithm: 'gradient_boosted_trees', target: 'status', positiveClass: 'bad', params: { maxIter: 2000, earlyStopping: false } };

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (page: Page, position: number) => cellAt(page, position).locator('.monaco-editor').first();

describe('production scenarios: run now, follow the run live, see the retraining decisions, re-run and cancel', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;
  let firstRunUrl: string;

  const shot = (name: string) => fullPageShot(page, name);
  const trpcQuery = (proc: string, input: unknown) => trpcQueryAs(server.baseUrl, proc, input, cookie);
  const upload = async (name: string, environment: 'design' | 'production', body: BodyInit) => {
    const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets?name=${name}&environment=${environment}`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body });
    if (!res.ok) throw new Error(`upload of ${name} (${environment}) failed: ${res.status} ${await res.text()}`);
  };
  const addCell = async (kind: string, position: number, source: string) => {
    await page.getByRole('button', { name: `Add ${kind} cell` }).click();
    await editorOf(page, position).waitFor();
    await paste(page, source);
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    mkdirSync(TMP, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, ada, { team: 'Risk Analytics', project: 'Credit scoring' }));
    // Design works on a sample (the first 400 applications); production has all 4,454. The champion
    // learns from the sample, so a challenger retrained on production data has more to learn from.
    const csv = readFileSync(creditDataCsv);
    const sample = csv.toString('utf8').split('\n').slice(0, 401).join('\n') + '\n';
    writeFileSync(path.join(TMP, 'credit-sample.csv'), sample);
    await upload('credit', 'design', sample);
    await upload('credit', 'production', csv);
    for (const [modelName, spec] of [['credit-risk', RISK_SPEC], ['credit-slow', SLOW_SPEC]] as const) {
      const started = (await trpcMutation(server.baseUrl, 'models.train', { projectId, modelName, dataset: 'credit', spec }, cookie)) as { id: string };
      for (;;) {
        const t = (await trpcQuery('models.training', { projectId, trainingId: started.id })) as { state: string; error: unknown };
        if (t.state === 'succeeded') break;
        if (t.state !== 'running') throw new Error(`training of ${modelName} ended ${t.state}: ${JSON.stringify(t.error)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie, { timeout: 15_000 }));
  }, 300_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'scenarios', task));

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('writes a notebook with SQL, check, endpoint and scenario cells in the browser, then promotes and deploys it', async () => {
    await page.goto(`/projects/${projectId}`);
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Credit operations');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/notebooks/${UUID}$`));
    const notebookId = page.url().split('/').pop()!;
    await page.locator('.connection[data-state=connected]').waitFor();
    await addCell('SQL', 1, "-- writes: credit_clean\nselect * from credit\nwhere income is not null and status in ('good', 'bad')");
    await addCell('Check', 2, 'dataset: credit_clean\nchecks:\n- type: row_count\n  min: 100\n- type: accepted_values\n  column: status\n  values: [good, bad]');
    await addCell('Endpoint', 3, 'name: credit-prod\nmodel: credit-risk\n');
    await addCell('Endpoint', 4, 'name: credit-slow\nmodel: credit-slow\n');
    await addCell('Scenario', 5, retrainScenario);
    await addCell('Scenario', 6, slowScenario);
    await page.locator('.build-bar .compile-state-ok').waitFor({ timeout: 30_000 });
    await page.locator('.cell-diagnostics').first().waitFor({ state: 'detached' });

    const { bundle } = (await trpcMutation(server.baseUrl, 'bundles.promote', { projectId, notebookId, releaseNotes: 'Retraining and backfill scenarios', confirmFailedBuild: true }, cookie)) as { bundle: { hash: string; scenarioCount: number } };
    expect(bundle.scenarioCount).toBe(2);
    await trpcMutation(server.baseUrl, 'deployments.deploy', { projectId, bundleHash: bundle.hash, reason: 'Scenarios go live' }, cookie);

    await page.goto(`/projects/${projectId}/production`);
    const card = page.getByRole('region', { name: 'Scenarios' });
    const nightly = card.locator('tr[data-scenario=nightly-retrain]');
    await nightly.waitFor();
    expect(await nightly.locator('li[data-trigger=schedule]').textContent()).toBe('At 06:00 AM, Europe/Paris');
    expect(await nightly.locator('li[data-trigger=manual]').textContent()).toBe('manual');
    expect(await nightly.getByRole('list', { name: 'Steps of nightly-retrain' }).locator('li').allTextContents()).toEqual(['1. build credit_clean', '2. checks credit_clean', '3. retrain credit-risk']);
    await card.getByText('No runs yet.').waitFor();
    await shot('sc-01-production-scenarios');
  }, 180_000);

  it('runs the retraining scenario from the Production tab; its run page follows it to the end without a reload', async () => {
    await page.getByRole('button', { name: 'Run nightly-retrain now' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/runs/${UUID}$`));
    firstRunUrl = new URL(page.url()).pathname;
    await page.getByRole('heading', { name: 'nightly-retrain', level: 1 }).waitFor();
    expect(await page.locator('dd[data-trigger=manual]').textContent()).toContain('manual by ada@example.com');
    await page.locator('.page-title .build-status-succeeded').waitFor({ timeout: 180_000 });
    const steps = page.locator('.scenario-steps tbody tr[data-step]');
    expect(await steps.count()).toBe(3);
    expect(await page.locator('.scenario-steps tr[data-status=succeeded]').count()).toBe(3);
    expect(await page.locator('.timeline-bar-succeeded').count()).toBe(3);
    for (const row of await steps.all()) expect(await row.locator('td').nth(5).textContent()).toMatch(/\d+(\.\d)? (ms|s)|min/);
    const build = page.locator('.scenario-steps tr[data-type=build]');
    expect(await build.getByRole('link', { name: 'production build' }).getAttribute('href')).toMatch(new RegExp(`/projects/${projectId}/builds/${UUID}$`));
    expect(await page.locator('.scenario-steps tr[data-type=checks] .check-chip[data-outcome=passed]').count()).toBe(2);
    const retrain = page.locator('.scenario-steps tr[data-type=retrain]');
    const decision = await retrain.locator('.retrain-out').getAttribute('data-decision');
    expect(['promoted', 'kept_champion']).toContain(decision);
    expect(await retrain.textContent()).toMatch(/challenger auc 0\.\d{3} vs champion v1 0\.\d{3}/);
    await retrain.getByRole('button', { name: /^Log/ }).click();
    await page.locator('pre.step-log').waitFor();
    expect(await page.locator('pre.step-log').textContent()).toContain('gate:');
    await shot('sc-03-run-succeeded');
  }, 240_000);

  it('shows the decision on the model page: chart and timeline with both metrics, the gate and the data fingerprint', async () => {
    await page.goto(`/projects/${projectId}/models/credit-risk`);
    const card = page.getByRole('region', { name: 'Retraining decisions' });
    await card.locator('li[data-decision]').first().waitFor();
    expect(await card.locator('li[data-decision]').count()).toBe(1);
    const text = await card.locator('li[data-decision]').first().textContent();
    expect(text).toMatch(/auc: challenger 0\.\d{3}/);
    expect(text).toMatch(/vs champion 0\.\d{3} \(v1\)/);
    expect(text).toContain('gate challenger >= champion');
    expect(text).toMatch(/fingerprint [0-9a-z]/);
    expect(await card.getByRole('link', { name: /^run [0-9a-f]{8}$/ }).getAttribute('href')).toBe(firstRunUrl);
    await card.getByTestId('gate-chart').locator('svg.recharts-surface').first().waitFor();
    await shot('sc-04-model-decisions');
  }, 60_000);

  it('re-runs a finished run: the new run opens, says what it re-ran, and adds a second decision', async () => {
    await page.goto(firstRunUrl);
    await page.locator('.page-title .build-status-succeeded').waitFor();
    await page.getByRole('button', { name: 'Re-run' }).click();
    await page.waitForURL((url) => url.pathname !== firstRunUrl && new RegExp(`/runs/${UUID}$`).test(url.pathname));
    await page.locator('dd[data-trigger=manual]').getByText('re-run of').waitFor();
    await page.locator('.page-title .build-status-succeeded').waitFor({ timeout: 180_000 });
    await shot('sc-05-rerun-succeeded');

    await page.goto(`/projects/${projectId}/models/credit-risk`);
    const card = page.getByRole('region', { name: 'Retraining decisions' });
    await card.locator('li[data-decision]').nth(1).waitFor();
    expect(await card.locator('li[data-decision]').count()).toBe(2);
    await shot('sc-06-model-two-decisions');
  }, 240_000);

  it('follows a slow scenario live and cancels it while its retrain step trains, then lists every run on the Production tab', async () => {
    await page.goto(`/projects/${projectId}/production`);
    await page.getByRole('button', { name: 'Run backfill now' }).click();
    await page.waitForURL(new RegExp(`/runs/${UUID}$`));
    // Live: the page polls; the step is seen running and its duration grows, without a reload.
    const retrain = page.locator('.scenario-steps tr[data-type=retrain][data-status=running]');
    await retrain.waitFor({ timeout: 30_000 });
    await page.locator('.page-title .build-status-running').waitFor();
    const seconds = async () => {
      const [, n, unit] = /([\d.]+) (ms|s)$/.exec((await retrain.locator('td').nth(5).textContent())!.trim())!;
      return Number(n) * (unit === 'ms' ? 0.001 : 1);
    };
    const first = await seconds();
    await page.waitForTimeout(1_500);
    expect(await seconds()).toBeGreaterThan(first);
    await shot('sc-02-run-live');
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('.page-title .build-status-cancelled').waitFor({ timeout: 60_000 });
    expect(await page.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    expect(await page.locator('.scenario-steps tr[data-type=retrain]').getAttribute('data-status')).toBe('cancelled');
    expect(await page.locator('.scenario-steps tr[data-type=sql]').getAttribute('data-status')).toMatch(/cancelled|skipped/);
    await shot('sc-07-run-cancelled');

    await page.goto(`/projects/${projectId}/production`);
    const runs = page.getByRole('region', { name: 'Scenarios' }).locator('.scenario-runs-table tbody tr');
    await runs.nth(2).waitFor();
    expect(await runs.count()).toBe(3);
    expect(await runs.first().getAttribute('data-status')).toBe('cancelled');
    expect(await page.locator('tr[data-scenario=backfill]').getByRole('link', { name: 'Last run of backfill: cancelled' }).count()).toBe(1);
    await shot('sc-08-production-runs');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
