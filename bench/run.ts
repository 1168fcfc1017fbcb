/**
 * `npm run bench`: every benchmark in turn, each in its own process (pass names to run a subset).
 * Options after the names go to each benchmark: `npm run bench batch-scoring training -- --rows 20000`.
 * Ends with the aims table (bench/aims.ts): each performance aim of issue 15 with what this run
 * measured, pass / miss, or "not measured" and why. The scoring benchmarks run compiled as
 * production runs the server (bench/compiled.ts), the others through tsx.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { aimsTable, clearAims, readAims, summarize } from './aims';
import { compileBench, COMPILED_BENCHES, COMPILED_ENV } from './compiled';

const all = ['startup', 'collab', 'datasets', 'pipeline', 'notebook', 'python', 'ml-quality', 'scoring', 'scoring-pool', 'batch-scoring', 'training', 'seen-rows', 'metrics', 'collab-relay'];
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('--'));
const names = firstOption < 0 ? args : args.slice(0, firstOption);
const options = firstOption < 0 ? [] : args.slice(firstOption);
const wanted = names.length ? names : all;
let failed = false;
const ran = new Map<string, number | null>();
clearAims();
for (const name of wanted) {
  const file = path.join(import.meta.dirname, `${name}.ts`);
  if (!existsSync(file)) continue;
  console.log(`\n## bench: ${name}`);
  const r = COMPILED_BENCHES.has(name)
    ? spawnSync(process.execPath, ['--enable-source-maps', await compileBench(file), ...options], { stdio: 'inherit', env: { ...process.env, [COMPILED_ENV]: '1' } })
    : spawnSync(process.execPath, ['--import', 'tsx', file, ...options], { stdio: 'inherit' });
  ran.set(name, r.status);
  if (r.status !== 0) failed = true;
}
console.log('\n## aims (issue 15)\n');
console.log(aimsTable(summarize(readAims(), ran)));
process.exit(failed ? 1 : 0);
