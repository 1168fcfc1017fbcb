/**
 * The train form's leaderboard in the browser: logistic regression with a grid of C and gradient-
 * boosted trees as another candidate, fitted on a worker; the model page ranks the fits, the best
 * is the version (and champion), the candidates are listed but offer no "Make champion".
 * Screenshots: tests/e2e/screenshots/leaderboard-*.png.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSession } from '../helpers/browser';
import { fullShot, startCreditSession } from './credit-session';
import { type ServerChild } from './server';

describe('a leaderboard from the train form', () => {
  let server: ServerChild;
  let browser: BrowserSession;
  let page: Page;
  let pageErrors: string[];
  let projectId: string;

  const shot = (name: string) => fullShot(page, name);

  beforeAll(async () => {
    ({ server, browser, page, pageErrors, projectId } = await startCreditSession());
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('fits three on the same split, ranks them, serves the best and keeps the others as candidates', async () => {
    await page.goto(`/projects/${projectId}/train`);
    const form = page.getByRole('form', { name: 'Train a model' });
    await expect.poll(() => form.locator('input[name=positiveClass]').inputValue(), { timeout: 60_000 }).toBe('bad');
    await form.locator('input[name=modelName]').fill('credit-risk');
    await form.getByLabel(/Gradient-boosted trees/).check();
    await form.locator('input[name=grid]').fill('C: 0.0001, 1');
    await shot('leaderboard-01-train-form');
    await form.getByRole('button', { name: 'Train' }).click();
    const progress = page.getByRole('status', { name: 'Training progress' });
    await expect.poll(() => progress.textContent(), { timeout: 60_000 }).toMatch(/fit \d of 4/);
    await page.waitForURL(/\/models\/credit-risk\?version=3$/, { timeout: 180_000 });

    const board = page.getByRole('table', { name: /Leaderboard of credit-risk, best by AUC/ });
    await board.locator('tbody tr').nth(2).waitFor();
    expect(await board.locator('tbody tr').count()).toBe(3);
    // Best first, the chosen one on top and the served version.
    const first = board.locator('tbody tr').first();
    expect(await first.getAttribute('data-version')).toBe('3');
    await first.getByText('chosen').waitFor();
    expect(await board.getByText('candidate').count()).toBe(2);
    const aucs = await board.locator('tbody tr td:nth-child(4)').allTextContents();
    const values = aucs.map(Number);
    expect([...values].sort((a, b) => b - a)).toEqual(values);

    // Versions: the winner is champion; candidates are marked and cannot be made champion.
    // Two candidates (v1, v2) registered before the winner (v3).
    await page.locator('.versions-table tr[data-version="3"]').getByText('champion').first().waitFor();
    for (const v of ['1', '2']) {
      const row = page.locator(`.versions-table tr[data-version="${v}"]`);
      await row.getByText('candidate').waitFor();
      expect(await row.getByRole('button', { name: 'Make champion' }).count()).toBe(0);
    }
    await shot('leaderboard-02-model-page');

    await page.locator('.versions-table tr[data-version="2"]').getByRole('button', { name: 'Show version 2' }).click();
    await page.getByText(/v2 is a candidate of v3/).waitFor();
    await shot('leaderboard-03-candidate');
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
