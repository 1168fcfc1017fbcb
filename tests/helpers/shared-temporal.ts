/**
 * The Temporal dev server one vitest run shares: the globalSetup (`helpers/global-setup.ts`) starts
 * it in the background and returns at once, so a run without Temporal tests (unit files) does not
 * wait for it; the first file that asks (`sharedTestTemporal()`) does. The outcome goes to a status
 * file, `ready <address>` or `failed <reason>`, written whole and renamed into place. Kept apart from
 * `temporal.ts` so the vitest process does not load the SDK's worker for it.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { findTemporalCli, startTemporalDevServer } from '@/workflows/dev-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalStatusFile?: string;
  }
}

export type TestTemporal = { address: string; namespace: string; stop: () => Promise<void> };

/** globalSetup part: starts the run's server; the returned function stops it and removes its state. */
export function startSharedTemporal(provide: (key: 'temporalStatusFile', value: string) => void): () => Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-temporal-run-'));
  const statusFile = path.join(dir, 'status');
  const report = (text: string) => {
    writeFileSync(`${statusFile}.tmp`, text);
    renameSync(`${statusFile}.tmp`, statusFile);
  };
  const starting = (async () => startTemporalDevServer({ cliPath: findTemporalCli(), dbFile: path.join(dir, 'temporal.db'), ui: false, startTimeoutMs: 120_000 }))().then(
    (server) => {
      report(`ready ${server.address}`);
      return server;
    },
    (err: unknown) => {
      report(`failed ${err instanceof Error ? err.message : String(err)}`);
      return null;
    },
  );
  provide('temporalStatusFile', statusFile);
  return async () => {
    const server = await starting;
    // Its state is deleted next: nothing is worth a graceful shutdown (~6 s under load).
    await server?.stop(1_000);
    rmSync(dir, { recursive: true, force: true });
  };
}

function providedStatusFile(): string | undefined {
  try {
    return inject('temporalStatusFile');
  } catch {
    // outside a vitest worker (benches): no provided context
    return undefined;
  }
}

/** The run's server once it answers; null outside a vitest run with the globalSetup. Its `stop` does nothing. */
export async function sharedTestTemporal(timeoutMs = 180_000): Promise<TestTemporal | null> {
  const statusFile = providedStatusFile();
  if (!statusFile) return null;
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(statusFile)) {
    if (Date.now() > deadline) throw new Error(`the run's Temporal dev server did not start within ${timeoutMs / 1000} s (${statusFile})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const status = readFileSync(statusFile, 'utf8');
  if (!status.startsWith('ready ')) throw new Error(`the run's Temporal dev server did not start: ${status.replace(/^failed /, '')}`);
  return { address: status.slice('ready '.length).trim(), namespace: 'default', stop: async () => {} };
}
