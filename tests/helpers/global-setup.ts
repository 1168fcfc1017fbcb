/**
 * vitest globalSetup (vitest.config.ts): the servers one run shares. The Temporal dev server starts
 * in the background (its first user waits for it); the embedded PostgreSQL server is awaited.
 */
import type { TestProject } from 'vitest/node';
import setupEmbeddedPostgres from './embedded-postgres';
import { startSharedTemporal } from './shared-temporal';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provide = project.provide.bind(project);
  const stopTemporal = startSharedTemporal(provide);
  let stopPostgres: () => Promise<void>;
  try {
    stopPostgres = await setupEmbeddedPostgres({ provide });
  } catch (err) {
    await stopTemporal();
    throw err;
  }
  return async () => {
    await Promise.all([stopTemporal(), stopPostgres()]);
  };
}
