/**
 * What the security browser tests share: a browser that records CSP violations, XSS markers and
 * dialogs on every page, and a Node y-websocket client to write notebook cells as a collaborator does.
 */
import type { BrowserContext, Page } from 'playwright-core';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { collectPageErrors, launchBrowser, type BrowserSession } from '../helpers/browser';

export type WatchedBrowser = { browser: BrowserSession; page: Page; pageErrors: string[]; dialogs: string[] };

declare global {
  interface Window {
    __csp?: string[];
    __xss?: unknown;
  }
}

/** Records every `securitypolicyviolation` of every document into `window.__csp`, from before any page script runs. */
async function watchCsp(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp!.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
  });
}

export async function watchedBrowser(baseUrl: string, cookie?: string): Promise<WatchedBrowser> {
  const browser = await launchBrowser({ baseURL: baseUrl, timeout: 20_000 });
  await watchCsp(browser.context);
  const dialogs: string[] = [];
  browser.page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  if (cookie) {
    const [name, ...value] = cookie.split('=');
    await browser.context.addCookies([{ name: name!, value: value.join('='), url: baseUrl }]);
  }
  return { browser, page: browser.page, pageErrors: collectPageErrors(browser.page), dialogs };
}

/** CSP violations the current document reported, plus console errors that mention the policy. */
export async function cspViolations(w: WatchedBrowser): Promise<string[]> {
  const reported = await w.page.evaluate(() => window.__csp ?? ['(the watcher did not run)']);
  return [...reported, ...w.pageErrors.filter((e) => /Content Security Policy/i.test(e))];
}

/** Writes a notebook's cells through /collab as a signed-in collaborator would (a stock client in Node). */
export async function writeNotebook(baseUrl: string, cookie: string, notebookId: string, edit: (doc: Y.Doc) => void): Promise<void> {
  const doc = new Y.Doc();
  const Polyfill = class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { cookie } });
    }
  };
  const provider = new WebsocketProvider(`${baseUrl.replace(/^http/, 'ws')}/collab`, notebookId, doc, {
    WebSocketPolyfill: Polyfill as unknown as typeof globalThis.WebSocket,
    disableBc: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('collab client did not sync in 20 s')), 20_000);
      provider.once('sync', () => (clearTimeout(timer), resolve()));
    });
    edit(doc);
    // Done once the server echoes nothing back to wait for: a second client sees the edit.
    const check = new Y.Doc();
    const reader = new WebsocketProvider(`${baseUrl.replace(/^http/, 'ws')}/collab`, notebookId, check, {
      WebSocketPolyfill: Polyfill as unknown as typeof globalThis.WebSocket,
      disableBc: true,
    });
    const want = JSON.stringify(doc.getArray('cells').toJSON());
    const deadline = Date.now() + 20_000;
    while (JSON.stringify(check.getArray('cells').toJSON()) !== want) {
      if (Date.now() > deadline) throw new Error('the edit did not reach a second client in 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    reader.destroy();
  } finally {
    provider.destroy();
  }
}
