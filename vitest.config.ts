import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Test files in order of their expected duration, longest first: with two workers, a long file
 * started last keeps one worker busy while the other idles. vitest's own order uses the durations of
 * the previous run on the same machine, which a clean CI clone lacks (it falls back to file size).
 * The expectation comes from tests/file-durations.json (seconds on the 2-core CI machine, updated by
 * tests/tools/record-file-durations.ts); a file not in it yet gets its folder's typical duration.
 * Defined here rather than imported: vite's native config loader wants extensionless imports gone.
 */
class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = import.meta.dirname;
    const durations = JSON.parse(readFileSync(path.join(root, 'tests/file-durations.json'), 'utf8')) as Record<string, number>;
    const typical: Record<string, number> = { e2e: 60, integration: 20, security: 10, unit: 1 };
    const expected = (spec: TestSpecification) => {
      const rel = path.relative(root, spec.moduleId).split(path.sep).join('/');
      return durations[rel] ?? typical[rel.split('/')[1] ?? ''] ?? 10;
    };
    return [...files].sort((a, b) => expected(b) - expected(a) || a.moduleId.localeCompare(b.moduleId));
  }
}

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
