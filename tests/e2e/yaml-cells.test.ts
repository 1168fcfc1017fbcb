/**
 * Declarative (YAML) cells in the browser: monaco-yaml validates a check cell against the JSON Schema
 * the server derives from its zod schema (`pipeline.cellSchemas`), completes its keys and explains a
 * mistake on hover, in its own web worker. Screenshot: tests/e2e/screenshots/yaml-01-schema-marker.png.
 */
import { signUp } from './setup';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };

/** Pastes into the focused editor (typing would go through Monaco's auto-indent, re-indenting YAML). */
async function paste(page: Page, text: string): Promise<void> {
  await page.evaluate((t) => {
    const data = new DataTransfer();
    data.setData('text/plain', t);
    document.activeElement?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

/**
 * Hovers `target` until Monaco's hover shows `text`. Re-hovers: a hover opened before the YAML
 * worker's markers arrived shows only the compiler's and is not refreshed in place.
 */
async function hoverUntil(page: Page, target: Locator, text: string, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout;
  let shown: string[] = [];
  while (Date.now() < deadline) {
    await page.mouse.move(0, 0);
    await page.keyboard.press('Escape');
    await target.hover();
    const hover = page.locator('.monaco-hover:not(.hidden)').getByText(text);
    if (await hover.waitFor({ timeout: 2_000 }).then(() => true, () => false)) return;
    shown = await page.locator('.monaco-hover:not(.hidden)').allTextContents();
  }
  throw new Error(`hover never showed ${JSON.stringify(text)}; it showed ${JSON.stringify(shown)}`);
}

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (cell: Locator) => cell.locator('.monaco-editor').first();

describe('YAML cells: schema validation, completion and hover from the server’s zod schemas', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchBrowser({ baseURL: server.baseUrl, timeout: 15_000 });
    page = browser.page;
    pageErrors = collectPageErrors(page);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('serves the JSON Schema of check, train and score cells to anyone', async () => {
    const res = await fetch(`${server.baseUrl}/trpc/pipeline.cellSchemas`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { data: { json: Record<string, { type?: string; oneOf?: unknown[]; properties?: Record<string, unknown> }> } } };
    const schemas = body.result.data.json;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['check', 'train', 'score']));
    expect(Object.keys(schemas.check!.properties!)).toEqual(['dataset', 'checks']);
    expect(schemas.train!.oneOf).toHaveLength(2);
    expect(Object.keys(schemas.score!.properties!)).toEqual(['model', 'version', 'dataset', 'output']);
  });

  it('marks a check cell that breaks the schema, explains it on hover, and clears the mark once valid', async () => {
    const cookie = await signUp(server.baseUrl, ada);
    const [name, value] = [cookie.slice(0, cookie.indexOf('=')), cookie.slice(cookie.indexOf('=') + 1)];
    await browser.context.addCookies([{ name, value, url: server.baseUrl }]);
    const team = (await trpcMutation(server.baseUrl, 'teams.create', { name: 'Risk Analytics' }, cookie)) as { id: string };
    const project = (await trpcMutation(server.baseUrl, 'projects.create', { teamId: team.id, name: 'Loans' }, cookie)) as { id: string };

    await page.goto(`/projects/${project.id}`);
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Checks');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/projects/${project.id}/notebooks/${UUID}$`));
    await page.locator('.connection[data-state=connected]').waitFor();

    // A dataset for the check cell to test, so the compiler itself has nothing to say about it.
    await page.getByRole('button', { name: 'Add SQL cell' }).click();
    await editorOf(cellAt(page, 1)).waitFor();
    await paste(page, '-- writes: numbers\nselect 1 as n');
    await page.getByRole('button', { name: 'Add Check cell' }).click();
    const check = cellAt(page, 2);
    await editorOf(check).waitFor();

    // Completion of the schema's keys in the empty cell (the new cell's template is selected: Delete clears it).
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+Space');
    const suggest = page.locator('.suggest-widget.visible');
    await suggest.getByText('checks', { exact: true }).waitFor();
    await suggest.getByText('dataset', { exact: true }).waitFor();
    await page.keyboard.press('Escape');

    // `min` must be an integer, and `colour` is no key of a row_count check.
    await paste(page, 'dataset: numbers\nchecks:\n- type: row_count\n  min: many\n  colour: red');
    const squiggle = check.locator('.squiggly-error, .squiggly-warning');
    await squiggle.first().waitFor();
    // The schema's own messages (monaco-yaml's, not the compiler's zod messages), on hover.
    await hoverUntil(page, editorOf(check).locator('.view-line').nth(3).getByText('many'), 'Incorrect type. Expected "integer".');
    await hoverUntil(page, editorOf(check).locator('.view-line').nth(4).getByText('colour'), 'Property colour is not allowed.');
    await page.waitForTimeout(300); // the hover's fade-in
    await page.screenshot({ path: path.join(SCREENSHOTS, 'yaml-01-schema-marker.png') });
    await page.mouse.move(0, 0);

    // Made valid: every mark goes (the schema's and the compiler's).
    await editorOf(check).locator('.view-lines').click();
    await page.keyboard.press('Control+A');
    await paste(page, 'dataset: numbers\nchecks:\n- type: row_count\n  min: 1');
    await page.locator('.build-bar .compile-state-ok').waitFor();
    await squiggle.first().waitFor({ state: 'detached' });
    await page.waitForTimeout(1_000);
    expect(await squiggle.count()).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'yaml-02-valid.png') });

    expect(pageErrors).toEqual([]);
  }, 120_000);
});
