/**
 * Headless Debian Chromium driven by playwright-core (`npx playwright install` cannot download a
 * browser on these machines). Each launch gets a fresh temporary profile, removed on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export type BrowserSession = {
  context: BrowserContext;
  /** The page the browser opened with. */
  page: Page;
  userDataDir: string;
  /** Closes the browser (waiting for its process to exit) and deletes the profile. Safe to call twice. */
  close: () => Promise<void>;
};

export type LaunchOptions = {
  baseURL?: string;
  viewport?: { width: number; height: number };
  /** Milliseconds for each action and expectation. */
  timeout?: number;
};

export async function launchBrowser(opts: LaunchOptions = {}): Promise<BrowserSession> {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'sb-chromium-'));
  let context: BrowserContext;
  try {
    // launchPersistentContext is the only way to choose the profile directory (launch() refuses a
    // --user-data-dir argument); it also lets us delete the profile ourselves afterwards.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: opts.viewport ?? { width: 1360, height: 900 },
      ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(opts.timeout ?? 10_000);
  const page = context.pages()[0] ?? (await context.newPage());
  let closed = false;
  return {
    context,
    page,
    userDataDir,
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        await context.close();
      } finally {
        rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Console errors and uncaught page errors, to assert a page rendered without client-side failures. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} at ${msg.location().url || page.url()}`);
  });
  return errors;
}

export type SharedBrowser = {
  /** A fresh, isolated context (its own cookies and storage): one signed-in user each. */
  newContext: () => Promise<{ context: BrowserContext; page: Page }>;
  close: () => Promise<void>;
};

/**
 * One Chromium process for several users: cheaper than a browser per user on two cores. Playwright
 * gives `launch()` its own temporary profile and removes it on close.
 */
export async function launchSharedBrowser(opts: LaunchOptions = {}): Promise<SharedBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  let closed = false;
  return {
    newContext: async () => {
      const context = await browser.newContext({
        viewport: opts.viewport ?? { width: 1360, height: 900 },
        ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
      });
      context.setDefaultTimeout(opts.timeout ?? 10_000);
      return { context, page: await context.newPage() };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await browser.close();
    },
  };
}
