import path from 'node:path';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './tests/helpers/sequencer';

export default defineConfig({
  resolve: { alias: { '@': path.resolve(import.meta.dirname) } },
  test: {
    include: ['tests/**/*.test.ts'],
    // One embedded PostgreSQL server (the 'embedded' driver of tests/helpers/db.ts) and one Temporal
    // dev server (useTestTemporal in tests/helpers/temporal.ts) for the run.
    globalSetup: ['tests/helpers/global-setup.ts'],
    // Test webhook receivers listen on loopback; tests/security/webhook-ssrf.test.ts clears this.
    // Python cells' managed venv, built once per checkout (tests/helpers/python.ts) instead of per test home.
    env: { STAGEBOOK_WEBHOOK_ALLOW: '127.0.0.1', STAGEBOOK_PYTHON_VENV: path.resolve(import.meta.dirname, 'node_modules/.cache/stagebook/python-venv') },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration tests start real servers; two cores do not gain from more parallel files.
    maxWorkers: 2,
    fileParallelism: true,
    // Longest files first (tests/file-durations.json), so the two workers finish together.
    sequence: { sequencer: LongestFirstSequencer },
  },
});
