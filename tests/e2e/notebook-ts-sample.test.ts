/**
 * A ts cell previews on the first 10,000 rows of each input (issue 11): in the browser the output
 * says so, and Show all runs the cell on every row and streams its full result into the grid.
 * 12,000 input rows, the cell keeps the even ids: 5,000 rows from the sample, 6,000 in full.
 * Screenshots: screenshots/no-15-ts-sample.png, no-16-ts-show-all.png.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { accountWithProject, fullPageShot, paste, screenshotOnFailure, signedInBrowser, uploadCsv } from './setup';

const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };
const SOURCE = `// inputs: nums
// output: even_nums
export default function (rows: { id: number }[], emit: (r: object) => void) {
  for (const r of rows) if (r.id % 2 === 0) emit({ id: r.id, half: r.id / 2 });
}`;

describe('a ts cell run on a sample says so; Show all runs it on every row', () => {
  let server: ServerChild;
  let session: { browser: BrowserSession; pageErrors: string[] } | undefined;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'sb-ts-sample-e2e-'));
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
  }, 400_000);

  afterEach(async ({ task }) => {
    await screenshotOnFailure(session?.browser.page, 'ts-sample', task);
  });

  afterAll(async () => {
    await session?.browser.close();
    await server?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  it('says the preview read the first 10,000 rows, and Show all brings the full 6,000', async () => {
    const { cookie, projectId } = await accountWithProject(server.baseUrl, ada, { team: 'Numbers', project: 'Evens' });
    const file = path.join(scratch, 'nums.csv');
    writeFileSync(file, `id,label\n${Array.from({ length: 12_000 }, (_, i) => `${i + 1},r${i + 1}`).join('\n')}\n`);
    await uploadCsv(server.baseUrl, cookie, projectId, 'nums', file);
    const notebook = (await trpcMutation(server.baseUrl, 'notebooks.create', { projectId, name: 'Evens' }, cookie)) as { id: string };
    session = await signedInBrowser(server.baseUrl, cookie, { timeout: 20_000 });
    const page = session.browser.page;
    await page.goto(`/projects/${projectId}/notebooks/${notebook.id}`);
    await page.locator('.connection[data-state=connected]').waitFor();

    await page.getByRole('button', { name: 'Add TypeScript cell' }).click();
    const cell = page.locator('section.cell').first();
    await page.waitForFunction(() => !!document.activeElement?.closest('section.cell .monaco-editor'), undefined, { timeout: 30_000 });
    await page.keyboard.press('Control+A');
    await paste(page, SOURCE);
    // Monaco draws spaces as no-break spaces.
    await expect.poll(async () => ((await cell.locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' '), { timeout: 15_000 }).toContain('r.id / 2');
    await page.getByRole('button', { name: 'Run cell 1', exact: true }).click();

    const out = cell.getByTestId('cell-output');
    const note = out.getByTestId('sample-note');
    await note.waitFor({ timeout: 60_000 });
    expect(await note.textContent()).toContain('Ran on the first 10,000 rows of nums');
    expect(await out.getByTestId('row-summary').textContent()).toBe('1,000 of 5,000 rows from a sample');
    await fullPageShot(page, 'no-15-ts-sample');

    await out.getByRole('button', { name: 'Show all rows' }).click();
    await out.getByTestId('row-summary').filter({ hasText: /^6,000 rows$/ }).waitFor({ timeout: 60_000 });
    expect(await note.textContent()).toContain('Show all ran the cell on every row of nums');
    expect(await out.locator('a', { hasText: 'Download CSV' }).getAttribute('href')).toMatch(/\/result\.csv$/);
    await fullPageShot(page, 'no-16-ts-show-all');
    expect(session.pageErrors).toEqual([]);
  }, 240_000);
});
