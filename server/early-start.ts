import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import type { Env } from './env';
import { findTemporalCli, startTemporalDevServer, type DevServer } from '@/workflows/dev-server';

/** The children `start` needs, started before the rest of the server's modules load. */
export type EarlyChildren = { postgres: Promise<EmbeddedPostgres> | null; temporal: Promise<DevServer> | null };

/** The server logs warnings and worse; its routine start-up lines are noise on every start. */
export function postgresLog(line: string): void {
  if (!/\bLOG:|^\s*$/.test(line)) console.log(`[postgres] ${line}`);
}

/**
 * Starts the embedded PostgreSQL server and the Temporal dev server (each only when no address is
 * configured, and only for role `all`) from a module that loads in a fraction of a second, so both
 * boot while this process loads main.ts and everything behind it (seconds of module loading).
 * Failures surface where main.ts awaits them; the lifeline stops both if this process dies first.
 */
export function startChildrenEarly(env: Env): EarlyChildren {
  if (env.STAGEBOOK_ROLE !== 'all') return { postgres: null, temporal: null };
  const postgres = env.DATABASE_URL ? null : startEmbeddedPostgres({ dataDir: path.join(env.homeDir, 'pg'), log: postgresLog });
  const temporal = env.TEMPORAL_ADDRESS
    ? null
    : startTemporalDevServer({
        cliPath: findTemporalCli({ cliPath: env.TEMPORAL_CLI_PATH }),
        dbFile: path.join(env.homeDir, 'temporal.sqlite'),
        namespace: env.TEMPORAL_NAMESPACE,
        log: (line) => console.log(`[temporal] ${line}`),
      });
  // Awaited later: a failure meanwhile must not become an unhandled rejection.
  for (const p of [postgres, temporal]) p?.catch(() => undefined);
  return { postgres, temporal };
}
