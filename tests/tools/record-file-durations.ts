/**
 * Updates tests/file-durations.json (the order vitest.config.ts's sequencer runs files in) from
 * vitest's results cache, which holds each file's duration (imports and hooks included) from the
 * runs on this machine: run the files (`npx vitest run <files>`), then
 * `npx tsx tests/tools/record-file-durations.ts`. Files not in the cache keep their entries; files
 * that no longer exist are dropped. A vitest JSON report is no substitute: its file times span the
 * tests only, without beforeAll/afterAll, where the servers start and stop.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type ResultsCache = { results: [string, { duration: number; failed: boolean }][] };

const root = path.resolve(import.meta.dirname, '../..');
const fileDurationsPath = path.join(root, 'tests/file-durations.json');
const cacheRoot = path.join(root, 'node_modules/.vite/vitest');

const durations = JSON.parse(readFileSync(fileDurationsPath, 'utf8')) as Record<string, number>;
const caches = existsSync(cacheRoot) ? readdirSync(cacheRoot).map((d) => path.join(cacheRoot, d, 'results.json')).filter((f) => existsSync(f)) : [];
if (caches.length === 0) throw new Error(`no vitest results cache under ${cacheRoot}: run the test files first`);
for (const cache of caches) {
  const { results } = JSON.parse(readFileSync(cache, 'utf8')) as ResultsCache;
  for (const [key, { duration, failed }] of results) {
    // A failed file may have stopped early: its time says little about a passing run.
    if (failed || !duration) continue;
    durations[key.slice(key.indexOf(':') + 1)] = Math.max(1, Math.round(duration / 1000));
  }
}
const kept = Object.entries(durations)
  .filter(([file]) => existsSync(path.join(root, file)))
  .sort(([a], [b]) => a.localeCompare(b));
writeFileSync(fileDurationsPath, `${JSON.stringify(Object.fromEntries(kept), null, 2)}\n`);
console.log(`${path.relative(root, fileDurationsPath)}: ${kept.length} files`);
