/**
 * The pages a newcomer meets first, on the seeded demo (issue 18, items 1-4 and 10): the landing page
 * shows recent projects and notebooks; a project's overview tells the truth (active bundle, last
 * deploy, latest builds and scenario runs, endpoints with traffic); the forecast ran once at seed
 * time; breadcrumbs lead to Builds, Datasets and Models pages with search and sort; Ctrl+K searches
 * everything the user may see; and every page kind answers an unknown id with "not found" within
 * 2 s. A real server (child process, embedded PostgreSQL, its own Temporal dev server) in Chromium.
 * Screenshots: tests/e2e/screenshots/first-hour-*.png.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery, type ServerChild } from './server';
import { fullPageShot, screenshotOnFailure, SCREENSHOTS } from './setup';

const NO_SUCH_ID = '11111111-1111-4111-8111-111111111111';
const NOT_FOUND_MS = 2_000;

describe('the first pages a newcomer meets, on the seeded demo', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  const at: { teamId?: string; forecastId?: string; creditId?: string } = {};
  const q = (proc: string, input: unknown) => trpcQuery(server.baseUrl, proc, input, cookie);
  const shot = (name: string) => fullPageShot(page, `first-hour-${name}`);

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000, env: { STAGEBOOK_DEMO: '1' } });
    const deadline = Date.now() + 240_000;
    while (!/\[demo\] (ready|failed|not seeded)/.test(server.logTail())) {
      if (Date.now() > deadline) throw new Error(`the demo seed did not finish\n${server.logTail()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(server.logTail(), server.logTail()).toContain('[demo] ready');
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 15_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 480_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'first-hour', task));

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('signs in as the first admin and lands on recent projects and notebooks, not only teams', async () => {
    const file = readFileSync(path.join(server.home, 'initial-admin.txt'), 'utf8');
    await page.goto('/');
    await page.waitForURL(/\/sign-in/);
    await page.getByLabel('Email', { exact: true }).fill(/email: (\S+)/.exec(file)![1]!);
    await page.getByLabel('Password', { exact: true }).fill(/password: (\S+)/.exec(file)![1]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/teams$/);
    cookie = (await browser.context.cookies()).filter((c) => c.name === 'sb_session').map((c) => `${c.name}=${c.value}`)[0]!;
    const teams = (await q('teams.list', undefined)) as { id: string; name: string }[];
    at.teamId = teams.find((t) => t.name === 'Demo')!.id;
    const projects = (await q('projects.list', { teamId: at.teamId })) as { id: string; name: string }[];
    at.forecastId = projects.find((p) => p.name === 'Demand forecast')!.id;
    at.creditId = projects.find((p) => p.name === 'Credit scoring')!.id;

    const recentProjects = page.getByRole('table', { name: 'Recent projects' });
    await recentProjects.getByRole('link', { name: 'Demand forecast' }).waitFor();
    await recentProjects.getByRole('link', { name: 'Credit scoring' }).waitFor();
    const recentNotebooks = page.getByRole('table', { name: 'Recent notebooks' });
    expect(await recentNotebooks.getByRole('link').allTextContents()).toEqual(expect.arrayContaining(['Next-day demand', 'Credit risk']));
    await shot('01-landing');
  });

  it('the forecast project overview shows the active bundle, its deploy, and the forecast that ran at seed time', async () => {
    const deployments = (await q('deployments.list', { projectId: at.forecastId })) as { bundleHash: string; active: boolean }[];
    const active = deployments.find((d) => d.active)!;
    await page.goto(`/projects/${at.forecastId}`);
    const production = page.getByTestId('active-bundle');
    await production.getByRole('link', { name: active.bundleHash.slice(0, 12) }).waitFor();
    await production.getByText('by system:demo').waitFor();
    await production.getByText('Demo seed: first deployment').waitFor();
    // The seed's run of nightly_forecast is in the latest scenario runs, succeeded.
    const runs = page.getByRole('region', { name: 'Scenario runs' });
    await runs.locator('.badge-status-succeeded, [data-status=succeeded]').first().waitFor();
    expect(await runs.innerText()).toContain('nightly_forecast');
    const builds = page.getByRole('region', { name: 'Builds' });
    await builds.locator('tbody tr').first().waitFor();
    // The scaffold and the hard-coded card are gone.
    expect(await page.getByRole('button', { name: 'Start hello run' }).count()).toBe(0);
    expect(await page.getByText('No deployments yet.').count()).toBe(0);
    expect(await page.getByText('Nothing deployed yet.').count()).toBe(0);
    await shot('02-forecast-overview');

    await page.goto(`/projects/${at.forecastId}/production/datasets/demand_forecast`);
    await page.getByRole('heading', { name: 'demand_forecast' }).waitFor();
    await page.locator('.recharts-surface').first().waitFor();
    const preview = (await q('datasets.preview', { projectId: at.forecastId, name: 'demand_forecast', environment: 'production', limit: 50 })) as { rows: unknown[][] };
    expect(preview.rows.length).toBeGreaterThan(0);
    await shot('03-forecast-production-dataset');
  });

  it('the credit overview lists its endpoint with the traffic it served', { timeout: 90_000 }, async () => {
    const key = (await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId: at.creditId, name: 'scorer', scopes: ['score:credit-demo'] }, cookie)) as { secret: string };
    const endpoint = (await q('endpoints.get', { projectId: at.creditId, name: 'credit-demo' })) as { model: string; servingVersion: number };
    const detail = (await q('models.versionDetail', { projectId: at.creditId, name: endpoint.model, version: endpoint.servingVersion })) as {
      featureSchema: { inputs: { name: string }[] };
      trainingData: { dataset: string } | null;
    };
    const sample = (await q('datasets.preview', { projectId: at.creditId, name: detail.trainingData!.dataset, limit: 5 })) as { columns: { name: string }[]; rows: unknown[][] };
    const index = new Map(sample.columns.map((c, j) => [c.name, j]));
    const records = sample.rows.map((r) => Object.fromEntries(detail.featureSchema.inputs.map((f) => [f.name, r[index.get(f.name)!] ?? null])));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.baseUrl}/api/v1/endpoints/credit-demo/predict`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ records }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
    }
    // Request stats are written by the server within seconds: reload until the row shows them.
    const row = page.locator('tr[data-endpoint="credit-demo"]');
    await expect
      .poll(
        async () => {
          await page.goto(`/projects/${at.creditId}`);
          await row.waitFor();
          return (await row.locator('td').nth(2).textContent())?.trim();
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toBe('3');
    expect((await row.locator('td').nth(3).textContent())?.trim()).toBe(String(3 * records.length));
    await shot('04-credit-overview');
  });

  it('breadcrumbs lead to Models, Builds and Datasets pages that search and sort', async () => {
    await page.goto(`/projects/${at.creditId}/models/credit`);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Models' }).click();
    await page.waitForURL(new RegExp(`/projects/${at.creditId}/models$`));
    await page.getByRole('link', { name: 'credit', exact: true }).waitFor();
    await page.getByLabel('Search models').fill('no-such-model');
    await page.getByText('No model matches the search.').waitFor();
    await page.getByLabel('Search models').fill('cred');
    await page.getByRole('link', { name: 'credit', exact: true }).waitFor();
    await shot('05-models-page');

    const builds = (await q('builds.list', { projectId: at.creditId })) as { runId: string }[];
    await page.goto(`/projects/${at.creditId}/builds/${builds[0]!.runId}`);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Builds' }).click();
    await page.waitForURL(new RegExp(`/projects/${at.creditId}/builds$`));
    const buildRows = page.getByRole('region', { name: 'Builds' }).locator('tbody tr');
    await buildRows.first().waitFor();
    expect(await buildRows.count()).toBe(builds.length);
    await page.getByLabel('Search builds').fill('Credit risk');
    await buildRows.first().waitFor();
    await page.getByLabel('Search builds').fill('zzz');
    await page.getByText('No build matches the search.').waitFor();
    await shot('06-builds-page');

    await page.goto(`/projects/${at.forecastId}/datasets/sales`);
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('link', { name: 'Datasets' }).click();
    await page.waitForURL(new RegExp(`/projects/${at.forecastId}/datasets$`));
    const names = page.locator('table.datasets-table tbody tr code');
    await names.first().waitFor();
    const listed = await names.allTextContents();
    expect(listed).toEqual([...listed].sort());
    await page.getByLabel('Sort by').selectOption('rows');
    const rows = await page.locator('table.datasets-table tbody tr td:nth-child(3)').allTextContents();
    const counts = rows.map((r) => Number(r.replace(/,/g, '')));
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    await shot('07-datasets-page');
  });

  it('Ctrl+K searches projects, notebooks, cells, datasets, models, endpoints and scenarios, and opens a hit', async () => {
    await page.goto('/teams');
    await page.getByRole('button', { name: /Search/ }).waitFor();
    await page.keyboard.press('Control+k');
    const box = page.getByRole('searchbox', { name: 'Search everything you can see' });
    await box.fill('forecast');
    const results = page.getByRole('listbox', { name: 'Results' });
    await results.getByRole('option').first().waitFor();
    const kinds = new Set(await results.locator('.search-kind').allTextContents());
    for (const kind of ['Project', 'Cell', 'Dataset', 'Scenario']) expect(kinds).toContain(kind);
    expect(kinds).not.toContain('Endpoint');
    await shot('08-search-forecast');

    await box.fill('credit');
    await results.locator('.search-hit-name', { hasText: /^credit-demo$/ }).waitFor();
    const creditKinds = new Set(await results.locator('.search-kind').allTextContents());
    for (const kind of ['Project', 'Notebook', 'Model', 'Endpoint']) expect(creditKinds).toContain(kind);
    await box.fill('credit-demo');
    await results.getByRole('option').first().locator('.search-hit-name', { hasText: /^credit-demo$/ }).waitFor();
    await box.press('Enter');
    await page.waitForURL(new RegExp(`/projects/${at.creditId}/endpoints/credit-demo$`));
    await page.getByRole('heading', { name: 'credit-demo' }).waitFor();
  });

  it(`answers an unknown id with "not found" within ${NOT_FOUND_MS / 1000} s on every page kind`, { timeout: 120_000 }, async () => {
    const p = at.creditId!;
    const pages: [string, RegExp][] = [
      // A team id answers the same whether it exists or not (no probing for teams): not a member.
      [`/teams/${NO_SUCH_ID}`, /not a member of this team/i],
      [`/teams/${NO_SUCH_ID}/members`, /not a member of this team/i],
      [`/teams/${NO_SUCH_ID}/audit`, /not a member of this team/i],
      [`/projects/${NO_SUCH_ID}`, /not found/i],
      [`/projects/${NO_SUCH_ID}/builds`, /not found/i],
      [`/projects/${NO_SUCH_ID}/datasets`, /not found/i],
      [`/projects/${NO_SUCH_ID}/models`, /not found/i],
      [`/projects/${NO_SUCH_ID}/production`, /not found/i],
      [`/projects/${NO_SUCH_ID}/endpoints`, /not found/i],
      [`/projects/${NO_SUCH_ID}/api-keys`, /not found/i],
      [`/projects/${NO_SUCH_ID}/audit`, /not found/i],
      [`/projects/${NO_SUCH_ID}/notifications`, /not found/i],
      [`/projects/nope`, /not found/i],
      [`/projects/${p}/models/nope`, /Model "nope" was not found/],
      [`/projects/${p}/endpoints/nope`, /Endpoint "nope" was not found/],
      [`/projects/${p}/datasets/nope`, /not found/i],
      [`/projects/${p}/production/datasets/nope`, /not found/i],
      [`/projects/${p}/builds/${NO_SUCH_ID}`, /not found/i],
      [`/projects/${p}/builds/nope`, /not found/i],
      [`/projects/${p}/runs/${NO_SUCH_ID}`, /not found/i],
      [`/projects/${p}/bundles/${'0'.repeat(64)}`, /not found/i],
      [`/projects/${p}/notebooks/${NO_SUCH_ID}`, /not found/i],
      [`/projects/${p}/notebooks/nope`, /not found/i],
    ];
    const slow: string[] = [];
    for (const [url, text] of pages) {
      await page.goto(url, { waitUntil: 'load' });
      const loaded = Date.now();
      try {
        await page.getByText(text).first().waitFor({ timeout: NOT_FOUND_MS });
      } catch {
        slow.push(`${url}: no ${text} within ${NOT_FOUND_MS} ms of load (shows: ${(await page.locator('main').innerText()).slice(0, 200).replace(/\s+/g, ' ')})`);
        continue;
      }
      expect(Date.now() - loaded).toBeLessThan(NOT_FOUND_MS);
      expect(await page.locator('.loading').count(), url).toBe(0);
    }
    expect(slow).toEqual([]);
    await page.goto(`/projects/${p}/endpoints/nope`);
    await page.getByText('Endpoint "nope" was not found').waitFor();
    await shot('09-endpoint-not-found');
  });

  it('logged no client-side error on a valid page', () => {
    // Unknown ids answer 400, 403 or 404 by design: the browser logs each failed resource as a console error.
    expect(pageErrors.filter((e) => !/Failed to load resource: the server responded with a status of 40[034]/.test(e))).toEqual([]);
  });
});
