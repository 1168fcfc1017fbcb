import path from 'node:path';
import { loadEnv } from './env';

const USAGE = `Usage: stagebook <command> [options]

Commands:
  start [--role all|web|api|worker]   run the workspace (default role: all, one process)
  migrate                             apply database migrations and exit
  audit-verify                        walk the audit hash chain and check it against the last anchor in
                                      $STAGEBOOK_HOME/audit-anchors.log; exit 1 naming what is broken or missing
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

async function main() {
  if (process.argv[2] === 'bundle') {
    // A REST client of a running instance: no environment, database or Temporal of its own.
    const { runBundleCli } = await import('./bundle-cli');
    process.exit(await runBundleCli(process.argv.slice(3)));
  }
  const { command, role } = parseArgs(process.argv.slice(2));
  const env = loadEnv(undefined, role ? { STAGEBOOK_ROLE: role } : {});
  switch (command) {
    case 'start': {
      const { startStagebook } = await import('./main');
      await startStagebook(env);
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
      const database = await openEnvDatabase(env);
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
