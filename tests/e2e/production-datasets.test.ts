/**
 * Production datasets in the browser: a notebook that builds credit_clean from credit, with a
 * scenario watching production credit and reporting to a webhook channel, is promoted and deployed;
 * "Run now" builds production, and the run page shows what the reporter delivered. The Production
 * tab lists the production datasets; credit's page shows the production rows (not design's), the
 * scenario watching it and how to append rows; rows appended over REST with an ingest key show
 * after a reload. A real server (child process, embedded PostgreSQL, its own Temporal); screenshots go to
 * tests/e2e/screenshots/pd-*.png.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { creditDataCsv } from '../helpers/datasets';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/notifications';
import { ensureNextBuild, startServer, trpcMutation, trpcQuery as trpcQueryAs, type ServerChild } from './server';
import { accountWithProject, paste, screenshotOnFailure, signedInBrowser, fullPageShot, SCREENSHOTS } from './setup';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };

const refreshScenario = `name: refresh-clean
description: Rebuilds the clean credit rows when production credit changes
triggers:
  - type: manual
  - type: dataset_change
    dataset: credit
    every: 5s
overlap: queue_one
steps:
  - type: build
    datasets: [credit_clean]
reporters:
  - channel: ops
    on: [success, failure]
`;

/** Design works on the first 400 applications; production on 600 others, so the two tables differ from their first row. */
const [header, ...lines] = readFileSync(creditDataCsv, 'utf8').trimEnd().split('\n');
const designCsv = [header, ...lines.slice(0, 400)].join('\n') + '\n';
const productionCsv = [header, ...lines.slice(1999, 2599)].join('\n') + '\n';
/** The first production application: "good",1,"owner",48,27,"married","no","fixed",45,90,5000,0,350,1680 */
const firstProduction = { status: 'good', seniority: '1', home: 'owner', time: '48', age: '27', expenses: '45', income: '90', assets: '5000', amount: '350', price: '1680' };

type Preview = { columns: { name: string }[]; rows: (string | number | boolean | null)[][]; rowCount: number };

describe('production datasets: the Production tab lists them, a dataset page shows production rows, watchers and appends', () => {
  let server: ServerChild;
  let hook: WebhookReceiver;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;
  let ingestKey: string;

  const shot = (name: string) => fullPageShot(page, name);
  const trpcQuery = (proc: string, input: unknown) => trpcQueryAs(server.baseUrl, proc, input, cookie);
  const upload = async (name: string, environment: 'design' | 'production', body: string) => {
    const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets?name=${name}&environment=${environment}`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body });
    if (!res.ok) throw new Error(`upload of ${name} (${environment}) failed: ${res.status} ${await res.text()}`);
  };
  const addCell = async (kind: string, position: number, source: string) => {
    await page.getByRole('button', { name: `Add ${kind} cell` }).click();
    await page.locator('section.cell').nth(position - 1).locator('.monaco-editor').first().waitFor();
    await paste(page, source);
  };
  /** The preview's first row as column name -> the text its cell shows. */
  const firstPreviewRow = async (name: string) => {
    const grid = page.getByRole('grid', { name: `Rows of ${name}` });
    // The summary and the preview load separately: wait for the rows themselves.
    const first = grid.locator('.result-grid-row').first();
    await first.getByRole('gridcell').first().waitFor();
    const heads = await grid.locator('.result-grid-head .result-grid-name').allTextContents();
    const cells = await first.getByRole('gridcell').allTextContents();
    return Object.fromEntries(heads.map((h, i) => [h, cells[i]]));
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    hook = await startWebhookReceiver('/hooks/ops');
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, ada, { team: 'Risk Analytics', project: 'Credit scoring' }));
    await upload('credit', 'design', designCsv);
    await upload('credit', 'production', productionCsv);
    await trpcMutation(server.baseUrl, 'notifications.create', { projectId, name: 'ops', kind: 'webhook', url: hook.url }, cookie);
    ingestKey = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'credit feed', scopes: ['ingest:credit'] }, cookie)) as { secret: string }).secret;
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie, { timeout: 15_000 }));
  }, 300_000);

  afterEach(({ task }) => screenshotOnFailure(page, 'production-datasets', task));

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await hook?.close();
  }, 60_000);

  it('deploys a notebook building credit_clean with a watching, reporting scenario; Run now builds production and the run page shows the delivery', async () => {
    await page.goto(`/projects/${projectId}`);
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Credit pipeline');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/notebooks/${UUID}$`));
    const notebookId = page.url().split('/').pop()!;
    await page.locator('.connection[data-state=connected]').waitFor();
    await addCell('SQL', 1, "-- writes: credit_clean\nselect * from credit\nwhere income is not null and status in ('good', 'bad')");
    await addCell('Scenario', 2, refreshScenario);
    await page.locator('.build-bar .compile-state-ok').waitFor({ timeout: 30_000 });
    await page.locator('.cell-diagnostics').first().waitFor({ state: 'detached' });
    const { bundle } = (await trpcMutation(server.baseUrl, 'bundles.promote', { projectId, notebookId, releaseNotes: 'Clean credit in production', confirmFailedBuild: true }, cookie)) as { bundle: { hash: string } };
    await trpcMutation(server.baseUrl, 'deployments.deploy', { projectId, bundleHash: bundle.hash, reason: 'Production datasets' }, cookie);

    await page.goto(`/projects/${projectId}/production`);
    await page.getByRole('button', { name: 'Run refresh-clean now' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/runs/${UUID}$`));
    await page.locator('.page-title .build-status-succeeded').waitFor({ timeout: 180_000 });
    // The reporter sends once the run has finished: the page that followed the run sees it without a reload.
    const delivery = page.locator('.reports-table tr[data-channel=ops]');
    await delivery.waitFor({ timeout: 30_000 });
    expect(await delivery.getAttribute('data-status')).toBe('delivered');
    expect(await delivery.locator('td').nth(1).textContent()).toBe('scenario.succeeded');
    await delivery.locator('.notif-status-delivered', { hasText: 'delivered' }).waitFor();
    expect(hook.received.filter((r) => r.headers['x-stagebook-event'] === 'scenario.succeeded')).toHaveLength(1);
    await shot('pd-01-run-reporters');
    await page.getByRole('region', { name: 'Reporters' }).getByRole('link', { name: 'Notifications' }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/notifications$`));
  }, 300_000);

  it('lists the production datasets on the Production tab with their kind, rows and columns', async () => {
    await page.goto(`/projects/${projectId}/production`);
    const card = page.getByRole('region', { name: 'Production datasets' });
    const credit = card.locator('tr[data-dataset=credit]');
    const clean = card.locator('tr[data-dataset=credit_clean]');
    await clean.waitFor();
    expect(await credit.locator('td').nth(1).textContent()).toBe('source');
    expect(await credit.locator('td').nth(2).textContent()).toBe('600');
    expect(await credit.locator('td').nth(3).textContent()).toBe('14');
    expect(await clean.locator('td').nth(1).textContent()).toBe('built');
    const cleanRows = (await trpcQuery('datasets.get', { projectId, name: 'credit_clean', environment: 'production' })) as { rowCount: number };
    expect(cleanRows.rowCount).toBeGreaterThan(500);
    expect(await clean.locator('td').nth(2).textContent()).toBe(cleanRows.rowCount.toLocaleString('en-US'));
    await card.scrollIntoViewIfNeeded();
    await card.screenshot({ path: path.join(SCREENSHOTS, 'pd-02-production-datasets-card.png') });
    await shot('pd-03-production-tab');
  }, 60_000);

  it('opens production credit: the production rows, the scenario watching it and the append snippet; no design actions', async () => {
    await page.getByRole('region', { name: 'Production datasets' }).getByRole('link', { name: 'credit', exact: true }).click();
    await page.waitForURL(new RegExp(`/projects/${projectId}/production/datasets/credit$`));
    await page.getByRole('heading', { name: 'credit', level: 1 }).waitFor();
    await page.locator('.page-title .badge-env-production', { hasText: 'production' }).waitFor();
    expect(await page.getByTestId('dataset-row-count').textContent()).toBe('600');
    await page.getByRole('grid', { name: 'Rows of credit' }).waitFor();
    expect(await firstPreviewRow('credit')).toMatchObject(firstProduction);
    expect(await page.getByRole('region', { name: 'Preview' }).getByText('First 500 of 600 rows').count()).toBe(1);

    const watcher = page.getByRole('region', { name: 'Watched by' }).locator('li[data-scenario=refresh-clean]');
    await watcher.getByText('checked every 5 s').waitFor();
    expect(await watcher.getByRole('link', { name: 'refresh-clean', exact: true }).getAttribute('href')).toBe(`/projects/${projectId}/production#scenarios`);
    expect(await watcher.getByRole('link', { name: 'Last run of refresh-clean: succeeded' }).getAttribute('href')).toMatch(new RegExp(`/projects/${projectId}/runs/${UUID}$`));
    const snippet = await page.getByTestId('append-example').textContent();
    expect(snippet).toContain(`/api/v1/projects/${projectId}/datasets/credit/rows?environment=production`);
    expect(snippet).toContain('ingest:credit');
    expect(snippet).toContain('Authorization: Bearer $STAGEBOOK_KEY');
    // Production data may be replaced from here (editors, as the REST upload allows); the design-only controls stay away.
    expect(await page.getByRole('button', { name: 'Replace with a new CSV' }).count()).toBe(1);
    expect(await page.getByLabel('Type of age').count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Cells' }).count()).toBe(0);
    await shot('pd-04-production-credit');

    // The design table of the same name is another one.
    await page.goto(`/projects/${projectId}/datasets/credit`);
    expect(await page.getByTestId('dataset-row-count').textContent()).toBe('400');
    expect(await page.locator('.page-title .badge-env-production').count()).toBe(0);
    expect(await firstPreviewRow('credit')).toMatchObject({ seniority: '9', age: '30', income: '129' });
  }, 60_000);

  it('rows appended over REST with an ingest key show after a reload', async () => {
    const preview = (await trpcQuery('datasets.preview', { projectId, name: 'credit', environment: 'production', limit: 3 })) as Preview;
    const rows = preview.rows.map((r) => Object.fromEntries(preview.columns.map((c, i) => [c.name, r[i]])));
    const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/datasets/credit/rows?environment=production`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ingestKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rows }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ appended: 3, rowCount: 603 });

    await page.goto(`/projects/${projectId}/production/datasets/credit`);
    await page.getByTestId('dataset-row-count').getByText('603').waitFor();
    await page.getByText('First 500 of 603 rows').waitFor();
    await shot('pd-05-after-append');
    // The design table is untouched.
    expect(((await trpcQuery('datasets.get', { projectId, name: 'credit' })) as { rowCount: number }).rowCount).toBe(400);
  }, 60_000);

  it('opens production credit_clean: built by the bundle, with its build metrics and no append snippet', async () => {
    await page.goto(`/projects/${projectId}/production`);
    await page.getByRole('region', { name: 'Production datasets' }).getByRole('link', { name: 'credit_clean' }).click();
    await page.waitForURL(new RegExp(`/production/datasets/credit_clean$`));
    await page.locator('.page-title .badge-kind-built').waitFor();
    await page.getByRole('region', { name: 'Metrics' }).getByRole('figure', { name: 'Row count over builds' }).waitFor();
    expect(await page.getByTestId('append-example').count()).toBe(0);
    await page.getByRole('region', { name: 'Watched by' }).getByText('No deployed scenario watches it.').waitFor();
    await shot('pd-06-production-credit-clean');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a production dataset that does not exist is not found, as in design', async () => {
    await page.goto(`/projects/${projectId}/production/datasets/nope`);
    await page.getByRole('heading', { name: 'Not found', level: 1 }).waitFor();
    await page.getByText('dataset "nope" (production)', { exact: false }).waitFor();
    await shot('pd-07-not-available');
  }, 30_000);
});
