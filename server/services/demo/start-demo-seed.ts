import { seedDemo, type SeedDemoDeps } from './seed-demo';

/**
 * Runs the demo seed in the background of a first start: the server is already listening, so a slow
 * or failed seed never delays or stops it. Every line is prefixed `[demo]`; the last one says ready
 * (with the time taken) or why it failed. `stop()` (shutdown) stops waiting for builds and resolves
 * once the step under way has ended.
 */
export function startDemoSeed(deps: Omit<SeedDemoDeps, 'log' | 'signal'>, print: (line: string) => void = (line) => console.log(line)) {
  const abort = new AbortController();
  const log = (line: string) => print(`[demo] ${line}`);
  log('seeding the demo team (STAGEBOOK_DEMO=0 turns this off): builds and training run on the worker, in the background');
  const done = seedDemo({ ...deps, log, signal: abort.signal }).then(
    (result) => {
      if (result.status === 'skipped') log(`not seeded: ${result.reason}`);
      else {
        const projects = [result.forecast, result.credit].filter((p) => p !== null).length;
        log(`ready in ${result.seconds.toFixed(1)} s: team "Demo" with ${projects} project${projects === 1 ? '' : 's'} deployed to production`);
      }
      return result;
    },
    (err: unknown) => {
      if (abort.signal.aborted) log('stopped by shutdown before it finished; what was created stays');
      else log(`failed (the server runs on; what was created stays): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return null;
    },
  );
  return {
    done,
    stop: async () => {
      abort.abort(new Error('shutting down'));
      await done;
    },
  };
}
