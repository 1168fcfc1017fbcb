/**
 * Test files in order of their expected duration, longest first (vitest.config.ts `sequence`): with
 * two workers, a long file started last keeps one worker busy while the other idles. vitest's own
 * order uses the durations of the previous run on the same machine, which a clean CI clone lacks
 * (it falls back to file size). So the expectation comes from `tests/file-durations.json`, seconds
 * measured on the 2-core CI machine (`npx tsx tests/tools/record-file-durations.ts <vitest json
 * report>...` updates it); a file not in it yet gets its folder's typical duration.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const root = path.resolve(import.meta.dirname, '../..');
export const fileDurationsPath = path.join(root, 'tests/file-durations.json');

/** Seconds, by folder, for files not measured yet. */
const typical: Record<string, number> = { e2e: 60, integration: 20, security: 10, unit: 1 };

function expectedSeconds(durations: Record<string, number>, file: string): number {
  const rel = path.relative(root, file).split(path.sep).join('/');
  return durations[rel] ?? typical[rel.split('/')[1] ?? ''] ?? 10;
}

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const durations = JSON.parse(readFileSync(fileDurationsPath, 'utf8')) as Record<string, number>;
    return [...files].sort((a, b) => expectedSeconds(durations, b.moduleId) - expectedSeconds(durations, a.moduleId) || a.moduleId.localeCompare(b.moduleId));
  }
}
