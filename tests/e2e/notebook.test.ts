/**
 * Co-editing a notebook in the browser: a real server (child process, embedded PostgreSQL, its own
 * Temporal dev server), three users in three isolated Chromium contexts (two editors and a viewer),
 * Monaco bound to the shared Y.Doc through /collab. Screenshots go to tests/e2e/screenshots/nb-*.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchSharedBrowser, type SharedBrowser } from '../helpers/browser';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from './server';
import { approveInvitation } from './setup';

const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

const ada = { email: 'ada@example.com', name: 'Ada Lovelace', password: 'analytical-engine-1843' };
const grace = { email: 'grace@example.com', name: 'Grace Hopper', password: 'compiler-a0-1952' };
const vera = { email: 'vera@example.com', name: 'Vera Rubin', password: 'dark-matter-1970' };

type User = typeof ada;
type Person = { page: Page; context: BrowserContext; errors: string[] };

/** Signs up over tRPC, signs in (sign-up sets no session) and returns the session cookie the server set. */
async function signUp(baseUrl: string, user: User): Promise<{ name: string; value: string }> {
  const post = (path: string, json: unknown) => fetch(`${baseUrl}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ json }) });
  const up = await post('auth.signUp', user);
  if (!up.ok) throw new Error(`sign-up of ${user.email} failed: ${up.status} ${await up.text()}`);
  const res = await post('auth.signIn', { email: user.email, password: user.password });
  if (!res.ok) throw new Error(`sign-in of ${user.email} failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sb_session='));
  if (!cookie) throw new Error('sign-in set no session cookie');
  const [pair] = cookie.split(';');
  const eq = pair!.indexOf('=');
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1) };
}

/** The text an editor shows, line by line in visual order (Monaco renders spaces as U+00A0). */
async function editorText(editor: Locator): Promise<string> {
  return editor.evaluate((el) =>
    [...el.querySelectorAll<HTMLElement>('.view-line')]
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((l) => (l.textContent ?? '').replace(/\u00a0/g, ' '))
      .join('\n'),
  );
}

async function waitForEditorText(editor: Locator, predicate: (text: string) => boolean, what: string, timeout = 10_000): Promise<string> {
  const deadline = Date.now() + timeout;
  let last = '';
  while (Date.now() < deadline) {
    last = await editorText(editor).catch(() => '');
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: editor shows ${JSON.stringify(last)}`);
}

const cellAt = (page: Page, position: number) => page.locator('section.cell').nth(position - 1);
const editorOf = (cell: Locator) => cell.locator('.monaco-editor').first();

/** Waits until the page shows cells of these kinds, in this order. */
async function expectKinds(page: Page, kinds: string[]): Promise<void> {
  await page
    .waitForFunction((want) => JSON.stringify([...document.querySelectorAll<HTMLElement>('section.cell')].map((c) => c.dataset.kind)) === want, JSON.stringify(kinds), { timeout: 10_000 })
    .catch(async () => {
      const shown = await page.locator('section.cell').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.kind));
      throw new Error(`expected cells ${kinds.join(', ')}; the page shows ${shown.join(', ')}`);
    });
}

/** Puts the caret at the end of a cell's text, the way a user clicks into it. */
async function clickToEnd(page: Page, cell: Locator): Promise<void> {
  await editorOf(cell).locator('.view-lines').click();
  await page.keyboard.press('Control+End');
}

describe('co-editing a notebook in the browser', () => {
  let server: ServerChild;
  let browser: SharedBrowser;
  const people: Record<'ada' | 'grace' | 'vera', Person> = {} as never;
  const at: { teamId?: string; projectId?: string; notebookUrl?: string; adminCookie?: string } = {};

  const shot = async (page: Page, name: string) => {
    await page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 10_000 });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };
  const openAs = async (who: keyof typeof people, user: User) => {
    const { context, page } = await browser.newContext();
    const session = await signUp(server.baseUrl, user);
    await context.addCookies([{ ...session, url: server.baseUrl }]);
    people[who] = { context, page, errors: collectPageErrors(page) };
    if (at.teamId && at.adminCookie) await approveInvitation(server.baseUrl, at.adminCookie, at.teamId, user.email);
    return session;
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    browser = await launchSharedBrowser({ baseURL: server.baseUrl });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  }, 60_000);

  it('lets an editor create a notebook from the project page and rename it in place', async () => {
    const session = await openAs('ada', ada);
    const cookie = `${session.name}=${session.value}`;
    const team = (await trpcMutation(server.baseUrl, 'teams.create', { name: 'Risk Analytics' }, cookie)) as { id: string };
    const project = (await trpcMutation(server.baseUrl, 'projects.create', { teamId: team.id, name: 'Churn model' }, cookie)) as { id: string };
    at.teamId = team.id;
    at.projectId = project.id;
    at.adminCookie = cookie;
    // Grace and Vera are invited before they have accounts; once they sign up, Ada approves them (openAs).
    await trpcMutation(server.baseUrl, 'teams.invite', { teamId: team.id, email: grace.email, role: 'editor' }, cookie);
    await trpcMutation(server.baseUrl, 'teams.invite', { teamId: team.id, email: vera.email, role: 'viewer' }, cookie);

    const { page } = people.ada;
    await page.goto(`/projects/${project.id}`);
    await page.getByText('No notebooks yet.').waitFor();
    await page.getByRole('region', { name: 'Notebooks' }).getByLabel('Name', { exact: true }).fill('Untitled');
    await page.getByRole('button', { name: 'New notebook' }).click();
    await page.waitForURL(new RegExp(`/projects/${project.id}/notebooks/${UUID}$`));
    at.notebookUrl = new URL(page.url()).pathname;
    await page.locator('.connection[data-state=connected]').waitFor();
    await page.getByText('This notebook has no cells yet.').waitFor();

    await page.getByRole('button', { name: 'Untitled' }).click();
    await page.getByLabel('Notebook name').fill('Churn features');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Churn features' }).waitFor();
    await shot(page, 'nb-01-empty-notebook');
  });

  it('shows two editors each other’s typing, cursor and avatar in the same cell', async () => {
    const a = people.ada.page;
    await a.getByRole('button', { name: 'Add SQL cell' }).click();
    const aCell = cellAt(a, 1);
    await editorOf(aCell).waitFor();
    // A new cell opens with the caret in it.
    await a.keyboard.type('select customer_id');
    await waitForEditorText(editorOf(aCell), (t) => t === 'select customer_id', 'Ada’s own typing');

    await openAs('grace', grace);
    const g = people.grace.page;
    await g.goto(at.notebookUrl!);
    const gCell = cellAt(g, 1);
    await waitForEditorText(editorOf(gCell), (t) => t === 'select customer_id', 'Grace sees Ada’s text');
    await clickToEnd(g, gCell);
    await g.keyboard.type(', plan');
    await waitForEditorText(editorOf(aCell), (t) => t === 'select customer_id, plan', 'Ada sees Grace’s typing');

    // Both type into the same cell, on different lines.
    await clickToEnd(a, aCell);
    // A newline typed as text: Enter would accept an open suggestion, and Escape now leaves the
    // editor for command mode (Jupyter's keys), where Enter only re-enters it.
    await a.keyboard.insertText('\n');
    await a.keyboard.type('from customers');
    await waitForEditorText(editorOf(gCell), (t) => t === 'select customer_id, plan\nfrom customers', 'Grace sees Ada’s new line');
    await clickToEnd(g, gCell);
    // A newline typed as text: Enter would accept an open suggestion, and Escape now leaves the
    // editor for command mode (Jupyter's keys), where Enter only re-enters it.
    await g.keyboard.insertText('\n');
    await g.keyboard.type('where churned');
    const expected = 'select customer_id, plan\nfrom customers\nwhere churned';
    await waitForEditorText(editorOf(aCell), (t) => t === expected, 'Ada sees Grace’s new line');
    await waitForEditorText(editorOf(gCell), (t) => t === expected, 'Grace’s own text');

    // Each sees the other's caret (y-monaco's decoration) in the cell, the avatar in the header and in the cell.
    await aCell.locator('.yRemoteSelectionHead').first().waitFor();
    await gCell.locator('.yRemoteSelectionHead').first().waitFor();
    await a.locator(`.presence [data-email="${grace.email}"]`).waitFor();
    await g.locator(`.presence [data-email="${ada.email}"]`).waitFor();
    await aCell.locator(`.cell-people [data-email="${grace.email}"]`).waitFor();
    expect(await a.locator('.presence [role=img]').count()).toBe(2);
    await shot(a, 'nb-02-ada-sees-grace');
    await shot(g, 'nb-03-grace-sees-ada');
  });

  it('loads Monaco’s TypeScript worker: a type error in a TypeScript cell is underlined', async () => {
    const a = people.ada.page;
    await a.getByRole('button', { name: 'Add TypeScript cell' }).click();
    const tsCell = cellAt(a, 2);
    await editorOf(tsCell).waitFor();
    await a.keyboard.insertText("const answer: number = 'forty-two';");
    await tsCell.locator('.squiggly-error').first().waitFor({ timeout: 15_000 });
  });

  it('renders a markdown cell once its author leaves it, for everyone', async () => {
    const a = people.ada.page;
    await a.getByRole('button', { name: 'Add Markdown cell' }).click();
    const mdCell = cellAt(a, 3);
    await editorOf(mdCell).waitFor();
    await a.keyboard.insertText('# Churn features\n\nCustomers who cancel within **30 days**.');
    await a.keyboard.press('Escape');
    await mdCell.locator('.markdown-view h1', { hasText: 'Churn features' }).waitFor();
    expect(await mdCell.locator('.markdown-view strong').textContent()).toBe('30 days');
    await cellAt(people.grace.page, 3).locator('.markdown-view h1', { hasText: 'Churn features' }).waitFor();

    // A click opens the editor again.
    await mdCell.locator('.markdown-view').click();
    await waitForEditorText(editorOf(mdCell), (t) => t.startsWith('# Churn features'), 'markdown source in the editor');
    await a.keyboard.press('Escape');
    await mdCell.locator('.markdown-view h1').waitFor();
    await shot(a, 'nb-04-markdown');
  });

  it('diffs a saved version against live edits and restores it for everyone', async () => {
    const a = people.ada.page;
    const g = people.grace.page;
    await a.getByRole('button', { name: 'Versions' }).click();
    const panel = a.getByRole('complementary', { name: 'Versions' });
    await panel.getByText('No versions yet.').waitFor();
    await panel.getByLabel('Message').fill('Baseline');
    await panel.getByRole('button', { name: 'Save version' }).click();
    await panel.getByText('Saved version “Baseline”.').waitFor();
    const row = panel.locator('li.version', { hasText: 'Baseline' });
    await row.waitFor();

    const gCell = cellAt(g, 1);
    await clickToEnd(g, gCell);
    // A newline typed as text: Enter would accept an open suggestion, and Escape now leaves the
    // editor for command mode (Jupyter's keys), where Enter only re-enters it.
    await g.keyboard.insertText('\n');
    await g.keyboard.type('and plan_changed');
    const edited = 'select customer_id, plan\nfrom customers\nwhere churned\nand plan_changed';
    await waitForEditorText(editorOf(cellAt(a, 1)), (t) => t === edited, 'Ada sees Grace’s edit');

    await row.getByRole('button', { name: 'Compare' }).click();
    const diff = panel.getByTestId('version-diff');
    await diff.locator('.diff-cell-changed .diff-add', { hasText: 'and plan_changed' }).waitFor();
    expect(await diff.locator('.diff-summary').textContent()).toContain('1 changed');
    await shot(a, 'nb-05-diff');

    await row.getByRole('button', { name: 'Restore' }).click();
    await row.getByRole('group', { name: 'Restore as a new edit?' }).getByRole('button', { name: 'Restore' }).click();
    await panel.getByText('Version restored as a new edit; everyone sees it now.').waitFor();
    const restored = 'select customer_id, plan\nfrom customers\nwhere churned';
    await waitForEditorText(editorOf(cellAt(a, 1)), (t) => t === restored, 'Ada sees the restored text');
    await waitForEditorText(editorOf(gCell), (t) => t === restored, 'Grace sees the restored text');
    await panel.getByText('No differences.').waitFor();
    await shot(a, 'nb-06-restored');
  });

  it('inserts, re-kinds, moves, collapses and deletes cells for everyone', async () => {
    const a = people.ada.page;
    const g = people.grace.page;
    await a.getByRole('button', { name: 'Close versions' }).click();
    await a.getByRole('complementary', { name: 'Versions' }).waitFor({ state: 'detached' });

    // The gap under a cell offers every kind on hover.
    await a.locator('.cell-slot').first().locator('.add-cell-between').hover();
    await shot(a, 'nb-07-insert-bar');
    await a.getByRole('button', { name: 'Insert Train cell after cell 1' }).click();
    await editorOf(cellAt(a, 2)).waitFor();
    await a.keyboard.insertText('model: churn\ntarget: churned');
    await waitForEditorText(editorOf(cellAt(g, 2)), (t) => t === 'model: churn\ntarget: churned', 'Grace sees the inserted cell');

    await a.getByLabel('Kind of cell 2').selectOption('check');
    await expectKinds(g, ['sql', 'check', 'ts', 'markdown']);
    await a.getByRole('button', { name: 'Move cell 4 up' }).click();
    await expectKinds(g, ['sql', 'check', 'markdown', 'ts']);
    await a.getByRole('button', { name: 'Collapse cell 4' }).click();
    await cellAt(g, 4).locator('.cell-collapsed-preview', { hasText: "const answer: number = 'forty-two';" }).waitFor();
    await shot(g, 'nb-08-moved-and-collapsed');

    // A cell with work in it asks before it goes.
    await cellAt(a, 2).getByRole('button', { name: 'Delete' }).click();
    await cellAt(a, 2).getByRole('group', { name: 'Delete cell 2?' }).getByRole('button', { name: 'Delete' }).click();
    await expectKinds(g, ['sql', 'markdown', 'ts']);
    await expectKinds(a, ['sql', 'markdown', 'ts']);
  });

  it('gives a viewer read-only editors whose typing reaches nobody', async () => {
    await openAs('vera', vera);
    const v = people.vera.page;
    const a = people.ada.page;
    await v.goto(at.notebookUrl!);
    await v.locator('.connection[data-state=connected]').waitFor();
    await v.locator('.badge-readonly').waitFor();
    const vCell = cellAt(v, 1);
    const restored = 'select customer_id, plan\nfrom customers\nwhere churned';
    await waitForEditorText(editorOf(vCell), (t) => t === restored, 'Vera sees the notebook');
    expect(await v.getByRole('button', { name: /^(Add|Insert) .* cell/ }).count()).toBe(0);
    expect(await v.locator('.cell-kind-select').count()).toBe(0);
    expect(await v.locator('.cell-actions').count()).toBe(0);
    await a.locator(`.presence [data-email="${vera.email}"]`).waitFor();
    // Three people, three colours (ten colours hashed from user ids collide often: the later joiner yields).
    await a.waitForFunction(() => {
      const colors = [...document.querySelectorAll<HTMLElement>('.presence [role=img]')].map((e) => e.style.background);
      return colors.length === 3 && new Set(colors).size === 3;
    });

    await clickToEnd(v, vCell);
    await v.keyboard.type(' zzz');
    // Grace types after Vera: once Ada has Grace's text, anything of Vera's would have arrived too.
    const g = people.grace.page;
    await clickToEnd(g, cellAt(g, 1));
    await g.keyboard.type(' = true');
    const after = `${restored} = true`;
    await waitForEditorText(editorOf(cellAt(a, 1)), (t) => t === after, 'Ada sees Grace’s later edit');
    await waitForEditorText(editorOf(vCell), (t) => t === after, 'Vera sees Grace’s later edit');
    expect(await editorText(editorOf(cellAt(a, 1)))).not.toContain('zzz');
    await shot(v, 'nb-09-viewer');
  });

  it('tells an editor when the browser is offline, and goes live again', async () => {
    const { page, context, errors } = people.grace;
    const before = errors.length;
    await context.setOffline(true);
    await page.locator('.connection[data-state=offline]').waitFor();
    await page.getByText('Your edits stay in this tab and merge when you are back online.').waitFor();
    await shot(page, 'nb-10-offline');
    await context.setOffline(false);
    await page.locator('.connection[data-state=connected]').waitFor({ timeout: 15_000 });
    // A poll that fell in the offline window makes Chromium itself log the failed load; that is the
    // browser reporting the network, not the page failing: anything else stays an error.
    const offline = errors.splice(before).filter((e) => !/^console: Failed to load resource: net::ERR_INTERNET_DISCONNECTED /.test(e));
    errors.push(...offline);
  });

  it('lists, duplicates and deletes notebooks on the project page', async () => {
    const a = people.ada.page;
    await a.goto(`/projects/${at.projectId}`);
    const section = a.getByRole('region', { name: 'Notebooks' });
    await section.getByRole('link', { name: 'Churn features' }).waitFor();
    await section.getByRole('button', { name: 'Duplicate Churn features' }).click();
    const copy = section.getByRole('link', { name: 'Churn features (copy)' });
    await copy.waitFor();
    await shot(a, 'nb-11-project-notebooks');

    await section.getByRole('button', { name: 'Rename Churn features (copy)' }).click();
    await section.getByLabel('New name for Churn features (copy)').fill('Scratch');
    await section.getByRole('button', { name: 'Save' }).click();
    await section.getByRole('link', { name: 'Scratch' }).waitFor();
    const scratchRow = section.getByRole('row').filter({ hasText: 'Scratch' });
    await scratchRow.getByRole('button', { name: 'Delete' }).click();
    await scratchRow.getByRole('group', { name: 'Delete “Scratch”?' }).getByRole('button', { name: 'Delete' }).click();
    await section.getByRole('link', { name: 'Scratch' }).waitFor({ state: 'detached' });
    expect(await section.getByRole('link').allTextContents()).toEqual(['Churn features']);
  });

  it('ran without client-side errors in any of the three browsers', () => {
    for (const [who, p] of Object.entries(people)) expect(p.errors, who).toEqual([]);
  });
});
