import { existsSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * A file of the workplace's shared data (credit_data.csv, wa_churn.csv): beside the checkout in
 * `../shared/data`, or at /work/shared/data when the checkout lives elsewhere (a CI clone).
 */
export function sharedDataFile(name: string): string {
  const candidates = [path.resolve(repoRoot, '../shared/data', name), path.join('/work/shared/data', name)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`shared data file ${name} not found in ${candidates.join(' or ')}`);
  return found;
}
