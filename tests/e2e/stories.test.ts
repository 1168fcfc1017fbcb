/**
 * The two production stories in the browser, on the demo a first start seeds: a real server (child
 * process, embedded PostgreSQL, its own Temporal dev server) started on an empty home with the demo on;
 * the first admin (from $STAGEBOOK_HOME/initial-admin.txt) signs in, runs the nightly forecast from
 * the Production tab and follows the run; then scores credit applications over REST, appends
 * labelled ones over REST, and follows the retrain the dataset watcher starts through to the model
 * page's decision. Screenshots: tests/e2e/screenshots/story-*.png.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal } from '@/workflows/client';
import { scenarioWatcherId } from '@/workflows/shared/scenario';
import { scenarioWatchStateQuery } from '@/workflows/shared/scenario-watch';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery as trpcQueryAs, type ServerChild } from './server';
import { screenshotOnFailure, fullPageShot, SCREENSHOTS } from './setup';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

type RunSummary = { runId: string; status: string; trigger: { kind: string }; startedAt: string | null; finishedAt: string | null; createdAt: string };
type Prediction = { modelVersion: number; predictions: { label: string; probabilities: Record<string, number> }[] };

/** credit_data.csv's complete rows as an ingest client sends them (lowercase columns; numbers; yes/no as booleans). */
function creditRows(): Record<string, string | number | boolean>[] {
  const [header, ...lines] = readFileSync(creditDataCsv, 'utf8').trim().split('\n');
  const columns = header!.split(',').map((c) => c.replace(/"/g, '').toLowerCase());
  return lines
    .map((line) => line.split(',').map((v) => v.replace(/"/g, '')))
    .filter((values) => !values.includes('NA'))
    .map((values) => Object.fromEntries(values.map((v, i) => [columns[i]!, /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v === 'yes' || v === 'no' ? v === 'yes' : v])));
}

describe('the production stories in the browser, on the seeded demo', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let temporal: Client;
  const at: { teamId?: string; forecastId?: string; creditId?: string } = {};
  const timings: string[] = [];

  const shot = (name: string) => fullPageShot(page, name);
  const trpcQuery = (proc: string, input: unknown) => trpcQueryAs(server.baseUrl, proc, input, cookie);
  const until = async <T,>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${server.logTail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  /** The run page polls while the run is live; its header badge is the first status badge. */
  const runPageSucceeded = async () => {
    await page.waitForFunction(() => document.querySelector('.build-status')?.getAttribute('data-status') === 'succeeded', undefined, { timeout: 120_000 });
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    const started = performance.now();
    server = await startServer({ readyTimeoutMs: 180_000, env: { STAGEBOOK_DEMO: '1' } });
    timings.push(`server ready (empty home, seed starting in the background): ${((performance.now() - started) / 1000).toFixed(1)} s`);
    await until('the demo seed', async () => /\[demo\] (ready|failed|not seeded)/.exec(server.logTail()), 240_000);
    const seedLine = server.logTail().split('\n').find((l) => l.includes('[demo] ready') || l.includes('[demo] failed') || l.includes('[demo] not seeded'))!;
    expect(seedLine, server.logTail()).toContain('[demo] ready');
    timings.push(`seed: ${seedLine.trim()} (${((performance.now() - started) / 1000).toFixed(1)} s after the server was started)`);
    const address = /temporal: (\S+:\d+)/.exec(server.logTail())![1]!;
    temporal = await connectTemporal(address, 'default');
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 15_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 480_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'story', task));

  afterAll(async () => {
    await temporal?.connection.close();
    await browser?.close();
    await server?.stop();
    if (timings.length) console.log(`production stories in the browser:\n  ${timings.join('\n  ')}`);
  }, 60_000);

  it('signs in as the first admin printed at the first start and finds the Demo team with both projects', async () => {
    const file = readFileSync(path.join(server.home, 'initial-admin.txt'), 'utf8');
    const email = /email: (\S+)/.exec(file)![1]!;
    const password = /password: (\S+)/.exec(file)![1]!;
    await page.goto('/');
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/teams$/);
    cookie = (await browser.context.cookies()).filter((c) => c.name === 'sb_session').map((c) => `${c.name}=${c.value}`)[0]!;
    await page.getByRole('link', { name: 'Demo', exact: true }).click();
    await page.waitForURL(new RegExp(`/teams/${UUID}$`));
    at.teamId = page.url().split('/').pop();
    await page.getByRole('link', { name: 'Demand forecast' }).waitFor();
    await page.getByRole('link', { name: 'Credit scoring' }).waitFor();
    await shot('story-01-demo-team');
  });

  it('batch: Run now on nightly_forecast rebuilds, checks and publishes the forecast; the run page follows it to success', { timeout: 180_000 }, async () => {
    await page.getByRole('link', { name: 'Demand forecast' }).click();
    await page.waitForURL(new RegExp(`/projects/${UUID}$`));
    at.forecastId = page.url().split('/').pop();
    await page.goto(`/projects/${at.forecastId}/production`);
    const row = page.locator('tr[data-scenario=nightly_forecast]');
    await row.waitFor();
    await row.locator('li[data-trigger=schedule]').waitFor();
    await shot('story-02-forecast-production');

    const pressedAt = Date.now();
    const runNow = row.getByRole('button', { name: 'Run nightly_forecast now' });
    if ((await runNow.count()) > 0) {
      await runNow.click();
      await page.waitForURL(new RegExp(`/projects/${at.forecastId}/runs/${UUID}$`), { timeout: 30_000 });
    } else {
      // The Production tab has no Run now button (yet): the same mutation it would call.
      const started = (await trpcMutation(server.baseUrl, 'scenarios.run', { projectId: at.forecastId, scenario: 'nightly_forecast' }, cookie)) as { runId: string };
      await page.goto(`/projects/${at.forecastId}/runs/${started.runId}`);
    }
    const runId = page.url().split('/').pop()!;
    await runPageSucceeded();
    const run = (await trpcQuery('scenarios.getRun', { projectId: at.forecastId, runId })) as RunSummary & { steps: { type: string; status: string }[] };
    expect(run.steps.map((s) => [s.type, s.status])).toEqual([
      ['build', 'succeeded'],
      ['checks', 'succeeded'],
    ]);
    timings.push(
      `nightly_forecast via Run now: click -> run started ${Date.parse(run.startedAt!) - pressedAt} ms; run ${((Date.parse(run.finishedAt!) - Date.parse(run.startedAt!)) / 1000).toFixed(1)} s`,
    );
    await shot('story-03-forecast-run');

    const forecast = (await trpcQuery('datasets.preview', { projectId: at.forecastId, name: 'demand_forecast', environment: 'production', limit: 20 })) as { rows: unknown[][] };
    expect(forecast.rows).toHaveLength(8);
    await page.goto(`/projects/${at.forecastId}/datasets/demand_forecast`);
    await page.getByText('demand_forecast').first().waitFor();
    await page.getByText('paris_bastille').first().waitFor();
    await shot('story-04-forecast-dataset');
  });

  it('real time: scoring keeps answering while appended labels trigger the retrain; the model page shows the gate decision', { timeout: 240_000 }, async () => {
    const projects = (await trpcQuery('projects.list', { teamId: at.teamId })) as { id: string; name: string }[];
    at.creditId = projects.find((p) => p.name === 'Credit scoring')!.id;
    const projectId = at.creditId;
    const scoreKey = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'scoring client', scopes: ['score:credit-demo'] }, cookie)) as { secret: string }).secret;
    const ingestKey = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'labels feed', scopes: ['ingest:applications_labelled'] }, cookie)) as { secret: string }).secret;
    const applications = creditRows();
    const score = async (): Promise<Prediction> => {
      const { status: _status, ...features } = applications[0]!;
      const res = await fetch(`${server.baseUrl}/api/v1/endpoints/credit-demo/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${scoreKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records: [features] }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return (await res.json()) as Prediction;
    };
    expect((await score()).modelVersion).toBe(1);

    // The watcher's first reading is its baseline; append after it.
    const watcher = temporal.workflow.getHandle(scenarioWatcherId(projectId, 'retrain_on_new_labels', 0));
    await until('the watcher baseline', async () => (await watcher.query(scenarioWatchStateQuery)).lastFingerprint === 'count=4454');

    let decisionMade: string | undefined;
    let scoring = true;
    let answered = 0;
    const failures: string[] = [];
    const load = (async () => {
      while (scoring) {
        await score().then(
          () => answered++,
          (err: unknown) => failures.push(String(err)),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    try {
      const appendedAt = Date.now();
      const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets/applications_labelled/rows?environment=production`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
        // Labels of a new period in which large loans (amount >= 1,300) went bad: the retrain has something to learn.
        // New applications (one more unit of amount): the refit champion has seen every row of the upload.
        body: JSON.stringify({ rows: applications.filter((_, i) => i % 3 === 1).slice(0, 1200).map((r) => ({ ...r, amount: Number(r.amount) + 1, status: Number(r.amount) + 1 >= 1300 ? 'bad' : 'good' })) }),
      });
      expect(res.status, await res.clone().text()).toBe(200);

      await page.goto(`/projects/${projectId}/production`);
      await page.locator('tr[data-scenario=retrain_on_new_labels]').waitFor();
      const run = await until('the triggered retrain run', async () => {
        const runs = (await trpcQuery('scenarios.runs', { projectId, scenario: 'retrain_on_new_labels' })) as RunSummary[];
        return runs.find((r) => r.trigger.kind === 'dataset_change');
      }, 90_000);
      timings.push(`retrain_on_new_labels: append -> run recorded ${Date.parse(run.createdAt) - appendedAt} ms (watcher every 30s)`);
      await page.reload();
      await page.locator('tr[data-scenario=retrain_on_new_labels] li[data-trigger=dataset_change]').waitFor();
      await shot('story-05-credit-production');

      await page.goto(`/projects/${projectId}/runs/${run.runId}`);
      // A challenger that passes the gate shadow-scores the live endpoint for 15 s first.
      await page.waitForFunction(
        () => document.querySelector('[data-testid=retrain-shadowing]') !== null || ['succeeded', 'failed'].includes(document.querySelector('.build-status')?.getAttribute('data-status') ?? ''),
        undefined,
        { timeout: 120_000 },
      );
      if (await page.locator('[data-testid=retrain-shadowing]').count()) {
        await shot('story-06a-credit-shadowing');
        // The model page lists the shadow period as a pending decision meanwhile.
        await page.goto(`/projects/${projectId}/models/credit`);
        const pending = page.locator('li[data-decision=shadowing]');
        const decided = page.locator('li[data-decision=promoted], li[data-decision=kept_champion]');
        await pending.or(decided).first().waitFor();
        if (await pending.count()) await shot('story-06b-credit-model-shadowing');
        await page.goto(`/projects/${projectId}/runs/${run.runId}`);
      }
      await runPageSucceeded();
      const done = (await trpcQuery('scenarios.getRun', { projectId, runId: run.runId })) as RunSummary & { steps: { type: string; status: string; output: { decision?: string; reason?: string } | null }[] };
      const decision = done.steps[1]!.output!;
      decisionMade = decision.decision!;
      timings.push(`retrain_on_new_labels run ${((Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)) / 1000).toFixed(1)} s; ${decision.decision}: ${decision.reason}`);
      await shot('story-06-credit-retrain-run');

      const after = await score();
      expect(after.modelVersion).toBe(decision.decision === 'promoted' ? 2 : 1);
    } finally {
      scoring = false;
      await load;
    }
    expect(failures).toEqual([]);
    timings.push(`scoring during the append and the retrain: ${answered} requests, ${failures.length} failed`);

    await page.goto(`/projects/${projectId}/models/credit`);
    await page.getByText('Retraining decisions').waitFor();
    await page.locator(`li[data-decision=${decisionMade}]`).first().waitFor();
    await shot('story-07-credit-model');
    expect(pageErrors).toEqual([]);
  });
});
