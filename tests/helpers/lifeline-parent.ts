/**
 * A minimal Stagebook parent for the lifeline tests: `node --import tsx tests/helpers/lifeline-parent.ts`
 * with STAGEBOOK_HOME. It takes the home's lock and starts the children `npm start` starts on embedded
 * defaults, exactly as main.ts does, then prints one JSON line with their pids and waits to be killed.
 * With `--detached` it starts them as `npm run cluster:local` does, in process groups of their own,
 * and survives SIGINT (printing `parent: SIGINT`), as that supervisor does to stop them in order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '@/server/embedded-postgres';
import { loadEnv } from '@/server/env';
import { acquireHomeLock } from '@/server/home-lock';
import { findTemporalCli, startTemporalDevServer } from '@/workflows/dev-server';

async function main(): Promise<void> {
  const env = loadEnv();
  const detached = process.argv.includes('--detached');
  if (detached) process.on('SIGINT', () => console.log('parent: SIGINT'));
  acquireHomeLock(env.homeDir);
  const temporal = await startTemporalDevServer({
    cliPath: findTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH }),
    dbFile: path.join(env.homeDir, 'temporal.sqlite'),
    ui: false,
    startTimeoutMs: 60_000,
    detached,
  });
  const postgres = await startEmbeddedPostgres({ dataDir: path.join(env.homeDir, 'pg'), detached });
  // The postmaster's pid, as the server itself records it.
  const postgresPid = Number(readFileSync(path.join(env.homeDir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  console.log(
    JSON.stringify({
      parent: process.pid,
      temporal: { pid: temporal.pid, address: temporal.address },
      postgres: { pid: postgresPid, address: `127.0.0.1:${postgres.port}` },
    }),
  );
  setInterval(() => {}, 60_000);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
