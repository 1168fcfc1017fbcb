/**
 * An endpoint's traffic in the browser: the empty state before any request, then requests sent
 * over REST (some refused) appear on the open page by its own refresh, as stacked request bars
 * and p50/p95/p99 lines. Then drift: an endpoint of a model trained here, fed shifted records,
 * gets a report from the Drift card's Compute now (PSI lines, latest table). A real server (child
 * process, embedded PostgreSQL); screenshots go to tests/e2e/screenshots/endpoint-stats-*.png.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { tinyOnnxModel } from '../helpers/models';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { accountWithProject, signedInBrowser, uploadCsv } from './setup';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const grace = { email: 'grace@example.com', name: 'Grace Hopper', password: 'compiler-a0-1952' };

describe('endpoint traffic in the browser', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let cookie: string;
  let projectId: string;
  let scoreKey: string;

  const shot = async (name: string) => {
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 10_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const predict = (records: unknown[], key = scoreKey) =>
    fetch(`${server.baseUrl}/api/v1/endpoints/tiny/predict`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ records }) });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, grace, { team: 'Serving', project: 'Tiny' }));
    const imported = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/models/tiny-model/versions`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/octet-stream' },
      body: Buffer.from(await tinyOnnxModel()),
    });
    if (!imported.ok) throw new Error(`import failed: ${imported.status} ${await imported.text()}`);
    await trpcMutation(server.baseUrl, 'endpoints.create', { projectId, name: 'tiny', model: 'tiny-model' }, cookie);
    scoreKey = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'scorer', scopes: ['score:tiny'] }, cookie)) as { secret: string }).secret;
    ({ browser, page, pageErrors } = await signedInBrowser(server.baseUrl, cookie));
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('shows the empty state, then requests and latency percentiles as traffic arrives, without reloading', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`/projects/${projectId}/endpoints/tiny`);
    const traffic = page.getByRole('region', { name: 'Traffic' });
    await traffic.getByText('No requests in the last hour.').waitFor();
    await shot('endpoint-stats-01-empty');

    let sent = 0;
    for (let i = 0; i < 60; i++) {
      const res = await predict(Array.from({ length: 1 + (i % 4) }, (_, j) => ({ x: ((i + j) % 10) + 0.5, kind: j % 2 ? 'a' : 'b' })));
      expect(res.status).toBe(200);
      sent++;
    }
    for (let i = 0; i < 6; i++) {
      expect((await predict([{ x: 'lots', kind: 'a' }])).status).toBe(400);
      sent++;
    }
    expect((await predict([{ x: 1, kind: 'a' }], 'sbk_not_a_key')).status).toBe(401);
    sent++;

    // Written by the server within ~5 s, read by the page's 10 s refresh: no reload.
    const tiles = page.locator('.metric-tile');
    await expect.poll(() => tiles.filter({ hasText: 'Requests' }).locator('.metric-tile-value').textContent(), { timeout: 30_000 }).toBe(String(sent));
    expect(await tiles.filter({ hasText: 'Errors' }).locator('.metric-tile-note').textContent()).toBe('7 4xx · 0 5xx');
    const bars = page.getByRole('figure', { name: 'Requests over time' });
    expect(await bars.locator('.recharts-bar-rectangle path, .recharts-bar-rectangle rect').count()).toBeGreaterThan(0);
    const lines = page.getByRole('figure', { name: 'Latency percentiles over time' });
    // All traffic fell in a minute or two: one dot per percentile line and minute.
    expect(await lines.locator('.recharts-line-dots circle').count()).toBeGreaterThanOrEqual(3);
    expect(await lines.locator('.recharts-legend-item').allTextContents()).toEqual(['p50', 'p95', 'p99']);
    expect(await tiles.filter({ hasText: 'p99' }).locator('.metric-tile-value').textContent()).toMatch(/^\d+(\.\d+)? (ms|s)$/);
    await shot('endpoint-stats-02-traffic');

    await traffic.getByRole('button', { name: 'Last week' }).click();
    await page.getByText('Requests per hour').waitFor();
    await expect.poll(() => tiles.filter({ hasText: 'Requests' }).locator('.metric-tile-value').textContent()).toBe(String(sent));
    await shot('endpoint-stats-03-week');
    expect(pageErrors).toEqual([]);
  }, 90_000);
  it('computes drift of an endpoint of a trained model from its Drift card, and charts it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sb-drift-'));
    const csv = path.join(dir, 'loans.csv');
    const row = (i: number) => ({ x: (i * 37) % 100 / 10, kind: i % 3 === 0 ? 'a' : 'b' });
    writeFileSync(csv, `x,kind,y\n${Array.from({ length: 600 }, (_, i) => row(i)).map((r, i) => `${r.x},${r.kind},${r.x + (r.kind === 'a' ? 2 : 0) + ((i * 13) % 7) / 2 > 7 ? 'bad' : 'good'}`).join('\n')}\n`);
    await uploadCsv(server.baseUrl, cookie, projectId, 'loans', csv);
    rmSync(dir, { recursive: true, force: true });
    const training = (await trpcMutation(server.baseUrl, 'models.train', { projectId, modelName: 'loans-model', dataset: 'loans', spec: { algorithm: 'logistic_regression', target: 'y', positiveClass: 'bad' } }, cookie)) as { id: string };
    await expect
      .poll(
        async () => {
          const input = encodeURIComponent(JSON.stringify({ json: { projectId, trainingId: training.id } }));
          const res = await fetch(`${server.baseUrl}/trpc/models.training?input=${input}`, { headers: { cookie } });
          return ((await res.json()) as { result: { data: { json: { state: string } } } }).result.data.json.state;
        },
        { timeout: 60_000 },
      )
      .toBe('succeeded');
    await trpcMutation(server.baseUrl, 'endpoints.create', { projectId, name: 'loans', model: 'loans-model' }, cookie);
    const key = ((await trpcMutation(server.baseUrl, 'apiKeys.create', { projectId, name: 'loans-scorer', scopes: ['score:loans'] }, cookie)) as { secret: string }).secret;
    // Half like the training data, half moved up by 6 and all of kind a: x and kind drift.
    const records = Array.from({ length: 400 }, (_, i) => (i % 2 ? row(i) : { x: row(i).x + 6, kind: 'a' }));
    for (let i = 0; i < records.length; i += 100) {
      const res = await fetch(`${server.baseUrl}/api/v1/endpoints/loans/predict`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ records: records.slice(i, i + 100) }) });
      expect(res.status).toBe(200);
    }

    await page.goto(`/projects/${projectId}/endpoints/loans`);
    const drift = page.getByRole('region', { name: 'Drift' });
    await drift.getByText('No drift report yet.').waitFor();
    await drift.getByRole('button', { name: 'Compute now (last 24 h)' }).click();
    const table = drift.getByTestId('drift-latest');
    await table.waitFor();
    const cells = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(cells.map((c) => [c[0], c[2], c[5]])).toEqual([
      ['x', 'KS', 'drift'],
      ['kind', 'chi-square', 'drift'],
    ]);
    expect(await drift.locator('.metric-tile').filter({ hasText: 'Predictions compared' }).locator('.metric-tile-value').textContent()).toBe('400');
    const lines = page.getByRole('figure', { name: 'PSI per feature over time' });
    expect(await lines.locator('.recharts-legend-item').allTextContents()).toEqual(['x', 'kind']);
    await shot('endpoint-stats-04-drift');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
