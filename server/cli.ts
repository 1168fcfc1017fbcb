import path from 'node:path';
import { loadEnv, type Env } from './env';
import { acquireHomeLock, HomeLocked } from './home-lock';

const USAGE = `Usage: stagebook <command> [options]

Commands:
  start [--role all|web|api|worker]   run the workspace (default role: all, one process)
  migrate                             apply database migrations and exit
  audit-verify                        walk the audit hash chain and check it against the last anchor in
                                      $STAGEBOOK_HOME/audit-anchors.log; exit 1 naming what is broken or missing
                                      (while Stagebook runs on the home, through its embedded server)
  migrate-home                        copy a home's PGlite database (pgdata/, earlier versions) into the embedded server
  backup --out FILE                   write the database (and the embedded Temporal state) to FILE (.tar.gz)
  restore FILE                        replace the database (and embedded Temporal state) with a backup's
  bundle export|import                move a bundle between running instances over REST (see stagebook bundle)
`;

function parseArgs(argv: string[]): { command: string | undefined; role: string | undefined } {
  const [command, ...rest] = argv;
  let role: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--role') role = rest[++i];
    else if (a.startsWith('--role=')) role = a.slice('--role='.length);
    else {
      console.error(`unknown option ${a}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  return { command, role };
}

/**
 * Commands that run the embedded database or Temporal dev server own the home while they run; with
 * both external (DATABASE_URL and TEMPORAL_ADDRESS), processes share nothing there and need no lock.
 */
function lockHomeIfEmbedded(env: Env, command: string): { heldBy: number } | null {
  const embedded = !env.DATABASE_URL || (command === 'start' && !env.TEMPORAL_ADDRESS);
  if (!embedded) return null;
  try {
    acquireHomeLock(env.homeDir);
    return null;
  } catch (err) {
    // audit-verify only reads: a running Stagebook's embedded server serves it as well as our own would.
    if (command === 'audit-verify' && err instanceof HomeLocked) return { heldBy: err.pid };
    throw err;
  }
}

/** DATABASE_URL's server, or the embedded one (started here, stopped by `stop`). */
async function targetServer(env: Env): Promise<{ url: string; stop: () => Promise<void> }> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, stop: async () => {} };
  const { embeddedDataDir } = await import('./main');
  const { startEmbeddedPostgres } = await import('./embedded-postgres');
  return startEmbeddedPostgres({ dataDir: embeddedDataDir(env) });
}

async function main() {
  if (process.argv[2] === 'bundle') {
    // A REST client of a running instance: no environment, database or Temporal of its own.
    const { runBundleCli } = await import('./bundle-cli');
    process.exit(await runBundleCli(process.argv.slice(3)));
  }
  if (process.argv[2] === 'backup' || process.argv[2] === 'restore') {
    const { runBackupCli } = await import('./ops/backup-cli');
    process.exit(await runBackupCli(process.argv[2], process.argv.slice(3), loadEnv()));
  }
  const { command, role } = parseArgs(process.argv.slice(2));
  const env = loadEnv(undefined, role ? { STAGEBOOK_ROLE: role } : {});
  const running = command === 'start' || command === 'migrate' || command === 'audit-verify' || command === 'migrate-home' ? lockHomeIfEmbedded(env, command) : null;
  if (command !== 'migrate-home' && !env.DATABASE_URL && !running) {
    // An earlier version's database would otherwise be silently replaced by an empty one.
    const { legacyPgliteDir, LegacyHome } = await import('./ops/migrate-home');
    const legacy = legacyPgliteDir(env.homeDir);
    if (legacy) throw new LegacyHome(legacy);
  }
  switch (command) {
    case 'migrate-home': {
      const { legacyPgliteDir, migrateHome } = await import('./ops/migrate-home');
      if (!legacyPgliteDir(env.homeDir)) {
        console.log(`nothing to migrate: ${env.homeDir} has no PGlite database (pgdata/)`);
        return;
      }
      const target = await targetServer(env);
      try {
        const r = await migrateHome({ home: env.homeDir, targetUrl: target.url, log: (line) => console.log(`  ${line}`) });
        console.log(`copied ${r.rows} rows in ${r.tables} tables (${r.projects} projects); the old data is kept at ${r.movedTo}`);
      } finally {
        await target.stop();
      }
      return;
    }
    case 'start': {
      // The children boot while main.ts's modules load (seconds): they need none of them.
      const { startChildrenEarly } = await import('./early-start');
      const early = startChildrenEarly(env);
      const { startStagebook } = await import('./main');
      await startStagebook(env, early);
      return;
    }
    case 'migrate': {
      const { openEnvDatabase } = await import('./main');
      const database = await openEnvDatabase(env);
      await database.migrate();
      await database.close();
      console.log(`migrations applied (${database.driver})`);
      return;
    }
    case 'audit-verify': {
      const { openEnvDatabase } = await import('./main');
      const { verifyAuditChain } = await import('./services/audit/verify-audit-chain');
      const { AUDIT_ANCHOR_FILE, readLastAuditAnchor } = await import('./services/audit/anchor');
      const anchorFile = path.join(env.homeDir, AUDIT_ANCHOR_FILE);
      const anchor = await readLastAuditAnchor(anchorFile);
      let database: Awaited<ReturnType<typeof openEnvDatabase>>;
      if (running) {
        const { embeddedDataDir } = await import('./main');
        const { runningEmbeddedUrl } = await import('./embedded-postgres');
        const { openDatabase } = await import('@/db/client');
        const url = runningEmbeddedUrl(embeddedDataDir(env));
        console.log(`Stagebook (pid ${running.heldBy}) is running on ${env.homeDir}: verifying through its embedded server`);
        try {
          database = await openDatabase({ url, driver: 'embedded', poolSize: 2 });
        } catch (err) {
          // Its server may still be starting, or the lock belongs to a backup/restore with the server stopped.
          throw new Error(`Stagebook (pid ${running.heldBy}) holds ${env.homeDir}, but its embedded server does not answer: ${err instanceof Error ? err.message : String(err)}; try again once it runs, or stop it`, { cause: err });
        }
      } else {
        database = await openEnvDatabase(env);
      }
      const result = await verifyAuditChain(database.db, { anchor });
      await database.close();
      if (result.ok) {
        console.log(`audit chain intact: ${result.events} events, head ${result.head}`);
        console.log(anchor ? `anchored: holds seq=${anchor.seq} as anchored at ${anchor.at} in ${anchorFile}` : `no anchor in ${anchorFile}: removal of the newest events cannot be detected`);
        return;
      }
      console.error(`audit chain BROKEN at event seq=${result.brokenAt.seq}: ${result.brokenAt.reason} (${result.events} events checked)`);
      process.exit(1);
      return;
    }
    default:
      console.error(USAGE);
      process.exit(command ? 2 : 0);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
