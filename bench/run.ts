/**
 * `npm run bench`: every benchmark in turn, each in its own process (pass names to run a subset).
 * Options after the names go to each benchmark: `npm run bench batch-scoring training -- --rows 20000`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const all = ['startup', 'collab', 'datasets', 'pipeline', 'notebook', 'python', 'ml-quality', 'scoring', 'batch-scoring', 'training', 'seen-rows', 'metrics', 'collab-relay'];
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const wanted = names.length ? names : all;
let failed = false;
for (const name of wanted) {
  const file = path.join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) continue;
  console.log(`\n## bench: ${name}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...options], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
