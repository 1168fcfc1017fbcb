/**
 * Updates tests/file-durations.json (the order vitest.config.ts's sequencer runs files in) from vitest JSON
 * reports: `npx vitest run <files> --reporter=json --outputFile=/tmp/r.json`, then
 * `npx tsx tests/tools/record-file-durations.ts /tmp/r.json`. Files not in the reports keep their
 * entries; files that no longer exist are dropped.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Report = { testResults: { name: string; startTime: number; endTime: number }[] };

const root = path.resolve(import.meta.dirname, '../..');
const fileDurationsPath = path.join(root, 'tests/file-durations.json');
const reports = process.argv.slice(2);
if (reports.length === 0) throw new Error('give one or more vitest JSON reports (--reporter=json --outputFile=...)');

const durations = JSON.parse(readFileSync(fileDurationsPath, 'utf8')) as Record<string, number>;
for (const report of reports) {
  const { testResults } = JSON.parse(readFileSync(report, 'utf8')) as Report;
  for (const r of testResults) {
    const rel = path.relative(root, r.name).split(path.sep).join('/');
    durations[rel] = Math.max(1, Math.round((r.endTime - r.startTime) / 1000));
  }
}
const kept = Object.entries(durations)
  .filter(([file]) => existsSync(path.join(root, file)))
  .sort(([a], [b]) => a.localeCompare(b));
writeFileSync(fileDurationsPath, `${JSON.stringify(Object.fromEntries(kept), null, 2)}\n`);
console.log(`${fileDurationsPath}: ${kept.length} files`);
