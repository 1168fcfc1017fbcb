/**
 * One embedded PostgreSQL server for the whole vitest run, started through the product's own
 * `startEmbeddedPostgres` (so the tests exercise that code path), in a temporary home removed at the
 * end. Part of the vitest globalSetup (helpers/global-setup.ts): its default export provides `embeddedPostgresUrl`,
 * which `embeddedPostgresAdminUrl()` reads in test files. A process without the globalSetup (a bench,
 * a file run under another config) starts a server of its own on first use, stopped at exit.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '@/server/embedded-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedPostgresUrl?: string;
  }
}

export type TestEmbeddedPostgres = { url: string; stop: () => Promise<void> };

/** A server in a fresh temporary home; `stop` removes the home. */
export async function startTestEmbeddedPostgres(): Promise<TestEmbeddedPostgres> {
  const home = mkdtempSync(path.join(tmpdir(), 'sb-embedded-pg-'));
  // As root the server runs as the `postgres` user, which must be able to pass through the home.
  chmodSync(home, 0o711);
  let server: EmbeddedPostgres;
  try {
    server = await startEmbeddedPostgres({ dataDir: path.join(home, 'pg') });
  } catch (err) {
    rmSync(home, { recursive: true, force: true });
    throw err;
  }
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

let own: Promise<TestEmbeddedPostgres> | undefined;

function provided(): string | undefined {
  try {
    return inject('embeddedPostgresUrl');
  } catch {
    // outside a vitest worker (benches): no provided context
    return undefined;
  }
}

/** A superuser URL (database `stagebook`) on the run's embedded server. */
export async function embeddedPostgresAdminUrl(): Promise<string> {
  const url = provided();
  if (url) return url;
  own ??= startTestEmbeddedPostgres().then((s) => {
    process.once('beforeExit', () => void s.stop());
    return s;
  });
  return (await own).url;
}

/** Stops the server `embeddedPostgresAdminUrl` started for this process, if any (benches call it before exiting). */
export async function stopOwnEmbeddedPostgres(): Promise<void> {
  const s = own;
  own = undefined;
  if (s) await (await s).stop();
}

/** vitest globalSetup: one embedded server for the whole run. */
export default async function setup({ provide }: { provide: (key: 'embeddedPostgresUrl', value: string) => void }) {
  const server = await startTestEmbeddedPostgres();
  provide('embeddedPostgresUrl', server.url);
  return server.stop;
}
