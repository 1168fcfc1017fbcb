/**
 * Security headers on every kind of response, and a CSP the app actually works under: the sign-in
 * page, a notebook (Monaco and its workers, the collab WebSocket) and a model page load in Chromium
 * without one violation. A real server (child process, PGlite on disk).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCell } from '@/server/domain/notebook-doc';
import { tinyOnnxModel } from '../helpers/models';
import { accountWithProject } from '../e2e/setup';
import { ensureNextBuild, startServer, trpcMutation, type ServerChild } from '../e2e/server';
import { cspViolations, watchedBrowser, writeNotebook, type WatchedBrowser } from './browser-helpers';

const ada = { email: 'ada.headers@example.com', name: 'Ada', password: 'analytical-engine-1843' };

describe('security headers and the content security policy', () => {
  let server: ServerChild;
  let cookie: string;
  let projectId: string;
  let notebookId: string;
  const browsers: WatchedBrowser[] = [];

  beforeAll(async () => {
    ensureNextBuild();
    server = await startServer({ readyTimeoutMs: 180_000 });
    ({ cookie, projectId } = await accountWithProject(server.baseUrl, ada, { team: 'Headers', project: 'CSP' }));
    notebookId = ((await trpcMutation(server.baseUrl, 'notebooks.create', { projectId, name: 'Policy' }, cookie)) as { id: string }).id;
    await writeNotebook(server.baseUrl, cookie, notebookId, (doc) => {
      insertCell(doc, 0, { kind: 'markdown', source: '# Hello\n\n*policy*' });
      insertCell(doc, 1, { kind: 'sql', source: 'select 1 as one' });
    });
    const res = await fetch(`${server.baseUrl}/api/v1/projects/${projectId}/models/tiny/versions?positiveClass=yes`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/octet-stream' },
      body: Buffer.from(await tinyOnnxModel()),
    });
    if (!res.ok) throw new Error(`model import failed: ${res.status} ${await res.text()}`);
  }, 300_000);
  afterAll(async () => {
    for (const b of browsers) await b.browser.close();
    // Shutdown under a loaded machine (PGlite alone took 30 s to open here) can exceed the default 20 s.
    await server?.stop(60_000);
  }, 60_000);

  it('sets nosniff, a referrer policy, frame-ancestors none and no X-Powered-By on pages, /trpc, /api and errors', async () => {
    const urls = [
      ['/sign-in', {}],
      [`/projects/${projectId}`, { cookie }],
      ['/trpc/teams.list', { cookie }],
      ['/trpc/teams.list', {}],
      ['/api/health', {}],
      ['/api/v1/no-such-route', {}],
      ['/api/openapi.json', {}],
    ] as const;
    for (const [path, headers] of urls) {
      const res = await fetch(`${server.baseUrl}${path}`, { headers, redirect: 'manual' });
      const what = `${path} (${res.status})`;
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), what).toBe('strict-origin-when-cross-origin');
      expect(res.headers.get('x-powered-by'), what).toBeNull();
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, what).toMatch(/frame-ancestors 'none'/);
      expect(csp, what).not.toMatch(/unsafe-eval/);
    }
  });

  it("gives pages a nonce policy without 'unsafe-inline' scripts, and every script in the HTML carries that nonce", async () => {
    const first = await fetch(`${server.baseUrl}/sign-in`);
    const second = await fetch(`${server.baseUrl}/sign-in`);
    const csp = first.headers.get('content-security-policy')!;
    const scriptSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('script-src'))!;
    expect(scriptSrc).not.toMatch(/unsafe-inline|unsafe-eval/);
    const nonce = /'nonce-([^']+)'/.exec(scriptSrc)![1]!;
    expect(nonce.length).toBeGreaterThanOrEqual(16);
    expect(second.headers.get('content-security-policy')).not.toContain(nonce);
    const html = await first.text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
  });

  it('the sign-in page, a notebook (Monaco, collab) and a model page load with no CSP violation', async () => {
    const anonymous = await watchedBrowser(server.baseUrl);
    browsers.push(anonymous);
    await anonymous.page.goto('/sign-in');
    await anonymous.page.getByRole('button', { name: /sign in/i }).waitFor();
    expect(await cspViolations(anonymous)).toEqual([]);

    const w = await watchedBrowser(server.baseUrl, cookie);
    browsers.push(w);
    await w.page.goto(`/projects/${projectId}/notebooks/${notebookId}`);
    await w.page.locator('.connection[data-state=connected]').waitFor();
    await w.page.getByRole('heading', { name: 'Hello' }).waitFor();
    await w.page.locator('section.cell[data-kind=sql] .monaco-editor').first().waitFor();
    // Monaco's workers start lazily; typing makes the editor use them.
    await w.page.locator('section.cell[data-kind=sql] .monaco-editor').first().click();
    await w.page.keyboard.type(' -- typed');
    await w.page.waitForTimeout(1_500);
    expect(await cspViolations(w)).toEqual([]);

    await w.page.goto(`/projects/${projectId}/models/tiny`);
    await w.page.getByText('tiny').first().waitFor();
    await w.page.waitForFunction(() => !document.querySelector('.loading'), undefined, { timeout: 15_000 });
    expect(await cspViolations(w)).toEqual([]);
    expect(w.pageErrors).toEqual([]);
  }, 120_000);
});
